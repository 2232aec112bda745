// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/// @title BlockHistory
/// @notice A value recorded per block (the value from the end of `fromBlock` on), whose value at a past block can be
/// read in constant cost from a caller-supplied index ("hint") that is checked, not trusted.
/// @dev Each entry also stores the block of the entry after it (`nextFromBlock`, 0 while it is the newest), so that
/// checking a hint reads one storage slot: the entry at the hint must start at or before the block asked about and
/// its successor, if any, after it. OpenZeppelin's `Checkpoints` keeps only each entry's own key, so the same check
/// there reads three slots (the entry, the array length and the next entry); with one cold slot costing 2 100 gas,
/// that alone exceeds the per-non-signer budget of a signature check (docs/contracts-avs.md, "Gas"). Entries live in
/// a mapping with a separate count, so that an index past the end reads as an empty entry instead of reverting.
/// Blocks are 32-bit (≈ 136 years of one-second blocks); a block number 0 never occurs in a transaction, so
/// `fromBlock == 0` marks an unused index.
library BlockHistory {
    struct Entry {
        uint32 fromBlock;
        uint32 nextFromBlock;
        uint192 value;
    }

    struct History {
        uint256 length;
        mapping(uint256 index => Entry) entries;
    }

    /// @notice Thrown when a value is recorded at a block before the newest entry's.
    error BlockHistoryBlockOutOfOrder(uint32 blockNumber, uint32 latestBlock);

    /// @notice Records `value` from the end of `blockNumber` on; several records in one block keep the last.
    /// @return previous the value before this record
    function push(History storage h, uint32 blockNumber, uint192 value) internal returns (uint192 previous) {
        uint256 n = h.length;
        if (n > 0) {
            Entry storage last = h.entries[n - 1];
            uint32 lastBlock = last.fromBlock;
            previous = last.value;
            if (lastBlock == blockNumber) {
                last.value = value;
                return previous;
            }
            if (blockNumber < lastBlock) revert BlockHistoryBlockOutOfOrder(blockNumber, lastBlock);
            last.nextFromBlock = blockNumber;
        }
        h.entries[n] = Entry(blockNumber, 0, value);
        h.length = n + 1;
    }

    /// @notice The newest value (0 for an empty history).
    function latest(History storage h) internal view returns (uint192) {
        uint256 n = h.length;
        return n == 0 ? 0 : h.entries[n - 1].value;
    }

    /// @notice The index of the entry in force at the end of `blockNumber`, searched (newest first, then binary):
    /// what `checkedValueAt` expects as a hint. 0 also when no entry starts at or before `blockNumber` (the value
    /// there is 0), which `checkedValueAt` accepts as such.
    function indexAt(History storage h, uint32 blockNumber) internal view returns (uint256) {
        uint256 n = h.length;
        if (n == 0) return 0;
        if (h.entries[n - 1].fromBlock <= blockNumber) return n - 1;
        // Last entry with fromBlock <= blockNumber, in [0, n − 1); `hi` is exclusive.
        uint256 lo = 0;
        uint256 hi = n - 1;
        while (lo < hi) {
            uint256 mid = (lo + hi) / 2;
            if (h.entries[mid].fromBlock <= blockNumber) lo = mid + 1;
            else hi = mid;
        }
        return lo == 0 ? 0 : lo - 1;
    }

    /// @notice The value at the end of `blockNumber`, searched (for views).
    function valueAt(History storage h, uint32 blockNumber) internal view returns (uint192) {
        (, uint192 value) = checkedValueAt(h, blockNumber, indexAt(h, blockNumber));
        return value;
    }

    /// @notice The value at the end of `blockNumber` read at `index`, in constant cost: `ok` is false unless the
    /// entry at `index` is the one in force then (it starts at or before `blockNumber`, and its successor, if any,
    /// after). Index 0 is also right when no entry starts at or before `blockNumber`; the value is then 0.
    function checkedValueAt(History storage h, uint32 blockNumber, uint256 index)
        internal
        view
        returns (bool ok, uint192 value)
    {
        Entry memory e = h.entries[index];
        // An unused index (past the end) or an entry after the block: right only as "before the first entry".
        if (e.fromBlock == 0 || e.fromBlock > blockNumber) return (index == 0, 0);
        if (e.nextFromBlock != 0 && e.nextFromBlock <= blockNumber) return (false, 0);
        return (true, e.value);
    }
}
