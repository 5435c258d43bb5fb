import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { processCpuMs } from "../../../src/evaluation/node-process";

describe("evaluation/node-process: a process's CPU time from /proc", () => {
  it("reads a process's user + system time, growing as it works, and null for a process that is gone", function () {
    if (process.platform !== "linux") this.skip();
    const before = processCpuMs(process.pid);
    expect(before).to.be.a("number");
    const started = Date.now();
    let spin = 0;
    while (Date.now() - started < 200) spin++;
    expect(spin).to.be.above(0);
    const after = processCpuMs(process.pid)!;
    const own = process.cpuUsage();
    expect(after - before!).to.be.at.least(100);
    // To the clock tick (10 ms) of what Node itself says this process used.
    expect(Math.abs(after - (own.user + own.system) / 1000)).to.be.below(100);
    const gone = spawnSync(process.execPath, ["-e", "0"]).pid;
    expect(processCpuMs(gone)).to.equal(null);
  });
});
