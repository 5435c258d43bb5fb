// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title OnChainRecordStore
/// @notice The evaluation's baseline, not a product contract: it keeps every encrypted record's bytes in contract
/// storage, as a design without off-chain storage would. `scripts/evaluate.ts` stores the same sealed envelopes here
/// that TwinLedger anchors by hash (TwinUpdateLog.recordUpdate) or by Merkle root (TwinUpdateLog.anchorBatch), to
/// compare their gas.
/// @dev Kept apart from the product contracts (contracts/baseline/ is excluded from the gas report and coverage).
/// There is deliberately no access control: the only cost that matters here is the storage of the bytes, and a
/// check would add the same few thousand gas to every design.
contract OnChainRecordStore {
    /// @notice Emitted for each stored record.
    /// @param twinId The twin the record belongs to.
    /// @param index The record's index in the twin's list.
    /// @param length The record's length in bytes.
    event RecordStored(bytes32 indexed twinId, uint256 indexed index, uint256 indexed length);

    /// @notice The record was empty.
    error EmptyRecord();

    /// @notice No record at this index for this twin.
    /// @param twinId The twin.
    /// @param index The index asked for.
    error RecordNotFound(bytes32 twinId, uint256 index);

    /// @dev Each twin's records in the order they were stored; each record takes one length slot plus one slot per
    /// 32 bytes (records of 32 bytes or more), all of them new storage slots.
    mapping(bytes32 twinId => bytes[]) private _records;

    /// @notice Stores a record's bytes on chain.
    /// @param twinId The twin the record belongs to.
    /// @param record The encrypted record (a sealed envelope).
    /// @return index The record's index in the twin's list.
    function storeRecord(bytes32 twinId, bytes calldata record) external returns (uint256 index) {
        if (record.length == 0) revert EmptyRecord();
        bytes[] storage list = _records[twinId];
        index = list.length;
        list.push(record);
        emit RecordStored(twinId, index, record.length);
    }

    /// @notice A stored record.
    /// @param twinId The twin.
    /// @param index The record's index.
    /// @return The record's bytes.
    function recordOf(bytes32 twinId, uint256 index) external view returns (bytes memory) {
        bytes[] storage list = _records[twinId];
        if (!(index < list.length)) revert RecordNotFound(twinId, index);
        return list[index];
    }

    /// @notice The number of records stored for a twin.
    /// @param twinId The twin.
    /// @return The count.
    function recordCount(bytes32 twinId) external view returns (uint256) {
        return _records[twinId].length;
    }
}
