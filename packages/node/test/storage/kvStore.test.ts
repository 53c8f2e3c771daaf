import { levelFixture, memoryFixture } from "./fixtures.js";
import { describeKvStore } from "./kvStoreSuite.js";

describeKvStore("memory", memoryFixture);
describeKvStore("LevelDB", levelFixture);
