import { expect } from "chai";
import { VerifiedAnchors } from "../../../src/pipeline";

describe("pipeline/VerifiedAnchors: a bounded cache (lru-cache)", function () {
  it("keeps at most `capacity` facts, dropping the least recently used", () => {
    const cache = new VerifiedAnchors(2);
    cache.add("state:a");
    cache.add("state:b");
    cache.batch("state:a"); // a read refreshes a
    cache.add("state:c");
    expect(cache.size).to.equal(2);
    expect(cache.has("state:a")).to.equal(true);
    expect(cache.has("state:b")).to.equal(false);
    expect(cache.has("state:c")).to.equal(true);
    cache.clear();
    expect(cache.size).to.equal(0);
  });
});
