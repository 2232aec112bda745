import { network } from "hardhat";
import { join } from "node:path";
import { openSqliteWriter } from "../../explorer/db.js";
import { describeIndexerCases } from "../support/explorer-indexer-cases.js";
import { makeTempDir } from "../support/tempdir.js";

const connection = await network.create();

describeIndexerCases("SQLite", {
  async fresh() {
    const dir = await makeTempDir("explorer-index");
    return { target: join(dir.path, "index.sqlite"), remove: dir.remove };
  },
  async openWriter(target) {
    return openSqliteWriter(target);
  },
}, connection);
