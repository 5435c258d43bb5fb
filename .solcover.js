// solidity-coverage: test-only mocks and the evaluation's all-on-chain baseline are not product code.
module.exports = {
  skipFiles: ["test/", "baseline/"],
  istanbulReporter: ["text-summary", "json-summary", "html", "lcov"],
};
