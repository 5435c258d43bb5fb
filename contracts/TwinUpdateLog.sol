// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ITwinRegistry} from "./interfaces/ITwinRegistry.sol";

/// @dev PLACEHOLDER being replaced by the full implementation of ITwinUpdateLog.
contract TwinUpdateLog {
    ITwinRegistry public immutable registry;

    constructor(ITwinRegistry registry_) {
        registry = registry_;
    }
}
