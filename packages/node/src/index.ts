export { CORE_VERSION } from "@cardio/core";
