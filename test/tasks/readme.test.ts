import { expect } from "chai";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import hre from "hardhat";

const ROOT = path.resolve(__dirname, "../..");
const TASK_GROUPS = ["twin", "source", "consent", "emergency", "log", "gateway", "index"];

describe("tasks: registered and documented", () => {
  const ours = Object.keys(hre.tasks).filter((name) => TASK_GROUPS.includes(name.split(":")[0]) && name.includes(":"));

  it("registers the twelve operator tasks", () => {
    expect(ours.sort()).to.deep.equal(
      [
        "consent:check",
        "consent:grant",
        "consent:requests",
        "consent:revoke",
        "emergency:close",
        "emergency:open",
        "gateway:start",
        "index:sync",
        "log:verify",
        "source:authorize",
        "twin:create",
        "twin:show",
      ].sort(),
    );
    for (const name of ours)
      expect(hre.tasks[name].paramDefinitions, name).to.include.keys("json", "from", "registry", "consent", "log");
  });

  it("lists every task in the README's Command line section, which links the auditors' documents", () => {
    const readme = readFileSync(path.join(ROOT, "README.md"), "utf8");
    const start = readme.indexOf("## Command line");
    expect(start).to.be.greaterThan(0);
    const section = readme.slice(start, readme.indexOf("\n## ", start + 1));
    for (const name of ours) expect(section, name).to.contain(`\`${name}`);
    for (const doc of ["docs/THREAT-MODEL.md", "docs/ERRORS.md", "docs/GAS.md"]) {
      expect(readme, doc).to.contain(`](${doc})`);
      expect(existsSync(path.join(ROOT, doc)), doc).to.equal(true);
    }
  });
});
