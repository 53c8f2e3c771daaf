import { describeChainStore } from "./chainStoreSuite.js";
import { levelFixture, memoryFixture } from "./fixtures.js";

describeChainStore("memory", memoryFixture);
describeChainStore("LevelDB", levelFixture);
