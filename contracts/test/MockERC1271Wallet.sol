// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC1271} from "@openzeppelin/contracts/interfaces/IERC1271.sol";
import {Address} from "@openzeppelin/contracts/utils/Address.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";

/// @title MockERC1271Wallet
/// @notice Test-only smart-contract wallet: one EOA key signs for it (ERC-1271) and makes it call other contracts.
/// @dev Lets the tests show that a patient can be a contract wallet (for example a Safe) rather than an EOA.
contract MockERC1271Wallet is IERC1271 {
    /// @notice The caller is not the wallet's key.
    error NotWalletSigner(address account);

    /// @notice The EOA whose signatures the wallet accepts and who may make it call other contracts.
    address public immutable SIGNER;

    /// @param signer_ The wallet's key.
    constructor(address signer_) {
        SIGNER = signer_;
    }

    /// @inheritdoc IERC1271
    function isValidSignature(bytes32 hash, bytes calldata signature) external view returns (bytes4) {
        (address recovered, ECDSA.RecoverError err, ) = ECDSA.tryRecoverCalldata(hash, signature);
        return
            err == ECDSA.RecoverError.NoError && recovered == SIGNER
                ? IERC1271.isValidSignature.selector
                : bytes4(0xffffffff);
    }

    /// @notice Calls `target` with `data` as the wallet. The wallet's key only.
    /// @param target The contract to call.
    /// @param data The calldata.
    /// @return result What the call returned.
    function execute(address target, bytes calldata data) external returns (bytes memory result) {
        if (msg.sender != SIGNER) revert NotWalletSigner(msg.sender);
        return Address.functionCall(target, data);
    }
}
