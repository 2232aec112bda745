// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/// @title BN254
/// @notice Arithmetic on the BN254 (alt_bn128) curve through the EVM precompiles 0x05–0x08, and EigenLayer's
/// try-and-increment hash to G1. Points use the encoding of the precompiles: G1 = (X, Y); G2 coordinates are
/// elements of Fp2 written imaginary part first, `X = [x.im, x.re]`, `Y = [y.im, y.re]`.
/// @dev The point at infinity is encoded as all-zero coordinates, as the precompiles do. Functions here never
/// reject it on their own: callers that take keys or signatures from outside check `isInfinity` themselves, because
/// a key and a signature both at infinity satisfy every pairing equation.
library BN254 {
    struct G1Point {
        uint256 X;
        uint256 Y;
    }

    /// @dev X = [x.im, x.re], Y = [y.im, y.re] (precompile order).
    struct G2Point {
        uint256[2] X;
        uint256[2] Y;
    }

    /// @notice Thrown when a call to one of the curve precompiles fails (invalid point or out of gas).
    error BN254PrecompileFailed(uint256 precompile);

    /// @notice Base field modulus p.
    uint256 internal constant FP_MODULUS =
        21888242871839275222246405745257275088696311157297823662689037894645226208583;
    /// @notice Scalar field modulus r (the order of G1 and G2).
    uint256 internal constant FR_MODULUS =
        21888242871839275222246405745257275088548364400416034343698204186575808495617;

    /// @notice keccak256(packed) mod r: a scalar bound to every byte of `packed` (the challenges γ and δ of the
    /// pairing checks, docs/contracts-avs.md).
    function scalarOf(bytes memory packed) internal pure returns (uint256) {
        return uint256(keccak256(packed)) % FR_MODULUS;
    }

    /// @notice The generator (1, 2) of G1.
    function generatorG1() internal pure returns (G1Point memory) {
        return G1Point(1, 2);
    }

    /// @dev Generator of G2, imaginary parts first.
    uint256 private constant G2_X_IM = 11559732032986387107991004021392285783925812861821192530917403151452391805634;
    uint256 private constant G2_X_RE = 10857046999023057135944570762232829481370756359578518086990519993285655852781;
    uint256 private constant G2_Y_IM = 4082367875863433681332203403145435568316851327593401208105741076214120093531;
    uint256 private constant G2_Y_RE = 8495653923123431417604973247489272438418190587263600148770280649306958101930;

    /// @notice The generator of G2 used by Ethereum (EIP-197).
    function generatorG2() internal pure returns (G2Point memory) {
        return G2Point([G2_X_IM, G2_X_RE], [G2_Y_IM, G2_Y_RE]);
    }

    /// @dev −G2 has the same X and Y negated in Fp2, precomputed so that pairing checks need no negation at run time.
    uint256 private constant NEG_G2_Y_IM = 17805874995975841540914202342111839520379459829704422454583296818431106115052;
    uint256 private constant NEG_G2_Y_RE = 13392588948715843804641432497768002650278120570034223513918757245338268106653;

    /// @notice The negation of the G2 generator.
    function negGeneratorG2() internal pure returns (G2Point memory) {
        return G2Point([G2_X_IM, G2_X_RE], [NEG_G2_Y_IM, NEG_G2_Y_RE]);
    }

    /// @notice True for the encoding (0, 0) of the point at infinity.
    function isInfinity(G1Point memory p) internal pure returns (bool) {
        return p.X == 0 && p.Y == 0;
    }

    /// @notice True for the all-zero encoding of the point at infinity of G2.
    function isInfinity(G2Point memory p) internal pure returns (bool) {
        return p.X[0] == 0 && p.X[1] == 0 && p.Y[0] == 0 && p.Y[1] == 0;
    }

    /// @notice True when p is a point of G1 other than infinity: coordinates reduced and y² = x³ + 3. G1 has cofactor
    /// 1, so being on the curve is being in the group.
    function isOnCurve(G1Point memory p) internal pure returns (bool) {
        if (p.X >= FP_MODULUS || p.Y >= FP_MODULUS) return false;
        if (p.X == 0 && p.Y == 0) return false;
        uint256 lhs = mulmod(p.Y, p.Y, FP_MODULUS);
        uint256 rhs = addmod(mulmod(mulmod(p.X, p.X, FP_MODULUS), p.X, FP_MODULUS), 3, FP_MODULUS);
        return lhs == rhs;
    }

    /// @dev Coefficient of the twist E'(Fp2): y² = x³ + 3/(9+u).
    uint256 private constant TWIST_B_RE = 19485874751759354771024239261021720505790618469301721065564631296452457478373;
    uint256 private constant TWIST_B_IM = 266929791119991161246907387137283842545076965332900288569378510910307636690;

    /// @notice True when p lies on the twist curve y² = x³ + 3/(9+u) over Fp2 with reduced coordinates (infinity
    /// excluded). This does NOT prove membership of the order-r subgroup: the pairing precompile checks that and
    /// fails on points outside it, so every G2 key must go through at least one pairing before it is trusted.
    function isOnCurve(G2Point memory p) internal pure returns (bool) {
        if (p.X[0] >= FP_MODULUS || p.X[1] >= FP_MODULUS || p.Y[0] >= FP_MODULUS || p.Y[1] >= FP_MODULUS) {
            return false;
        }
        if (isInfinity(p)) return false;
        // Fp2 elements as (re, im) with u² = −1.
        (uint256 y2Re, uint256 y2Im) = _fp2Mul(p.Y[1], p.Y[0], p.Y[1], p.Y[0]);
        (uint256 x2Re, uint256 x2Im) = _fp2Mul(p.X[1], p.X[0], p.X[1], p.X[0]);
        (uint256 x3Re, uint256 x3Im) = _fp2Mul(x2Re, x2Im, p.X[1], p.X[0]);
        return y2Re == addmod(x3Re, TWIST_B_RE, FP_MODULUS) && y2Im == addmod(x3Im, TWIST_B_IM, FP_MODULUS);
    }

    function _fp2Mul(uint256 aRe, uint256 aIm, uint256 bRe, uint256 bIm)
        private
        pure
        returns (uint256 re, uint256 im)
    {
        re = addmod(mulmod(aRe, bRe, FP_MODULUS), FP_MODULUS - mulmod(aIm, bIm, FP_MODULUS), FP_MODULUS);
        im = addmod(mulmod(aRe, bIm, FP_MODULUS), mulmod(aIm, bRe, FP_MODULUS), FP_MODULUS);
    }

    /// @notice −p in G1 (infinity stays infinity).
    function negate(G1Point memory p) internal pure returns (G1Point memory) {
        if (p.X == 0 && p.Y == 0) return G1Point(0, 0);
        return G1Point(p.X, FP_MODULUS - (p.Y % FP_MODULUS));
    }

    /// @notice p + q in G1 through precompile 0x06. Reverts when either input is not a point of G1.
    function plus(G1Point memory p, G1Point memory q) internal view returns (G1Point memory r) {
        uint256[4] memory input = [p.X, p.Y, q.X, q.Y];
        bool ok;
        assembly ("memory-safe") {
            ok := staticcall(gas(), 0x06, input, 0x80, r, 0x40)
        }
        if (!ok) revert BN254PrecompileFailed(0x06);
    }

    /// @notice s·p in G1 through precompile 0x07. Reverts when p is not a point of G1.
    function scalarMul(G1Point memory p, uint256 s) internal view returns (G1Point memory r) {
        uint256[3] memory input = [p.X, p.Y, s];
        bool ok;
        assembly ("memory-safe") {
            ok := staticcall(gas(), 0x07, input, 0x60, r, 0x40)
        }
        if (!ok) revert BN254PrecompileFailed(0x07);
    }

    /// @notice Whether e(a1, a2) · e(b1, b2) == 1, with at most `pairingGas` gas given to precompile 0x08.
    /// @return pairingSuccessful the result of the check (false whenever the call failed)
    /// @return callOk false when the precompile refused the input (a point off its curve, a G2 point outside the
    /// order-r subgroup, an unreduced coordinate) or ran out of the gas given
    /// @dev The cap keeps a caller-controlled input from burning the transaction's gas: a failing precompile call
    /// consumes everything it was given. A 2-pair check costs 45 000 + 2 × 34 000 = 113 000 gas (EIP-1108).
    function safePairing(G1Point memory a1, G2Point memory a2, G1Point memory b1, G2Point memory b2, uint256 pairingGas)
        internal
        view
        returns (bool pairingSuccessful, bool callOk)
    {
        uint256[12] memory input = [
            a1.X, a1.Y, a2.X[0], a2.X[1], a2.Y[0], a2.Y[1],
            b1.X, b1.Y, b2.X[0], b2.X[1], b2.Y[0], b2.Y[1]
        ];
        uint256[1] memory out;
        assembly ("memory-safe") {
            callOk := staticcall(pairingGas, 0x08, input, 0x180, out, 0x20)
        }
        pairingSuccessful = callOk && out[0] == 1;
    }

    /// @notice Whether the product of e(g1[i], g2[i]) over all i is 1, with at most `pairingGas` gas given to
    /// precompile 0x08 (45 000 + 34 000 per pair). Same results as `safePairing`; for checks that fold several
    /// equations into one multi-pairing.
    function safeMultiPairing(G1Point[] memory g1, G2Point[] memory g2, uint256 pairingGas)
        internal
        view
        returns (bool pairingSuccessful, bool callOk)
    {
        uint256 n = g1.length;
        if (n != g2.length) return (false, false);
        uint256[] memory input = new uint256[](n * 6);
        for (uint256 i = 0; i < n; i++) {
            uint256 j = i * 6;
            input[j] = g1[i].X;
            input[j + 1] = g1[i].Y;
            input[j + 2] = g2[i].X[0];
            input[j + 3] = g2[i].X[1];
            input[j + 4] = g2[i].Y[0];
            input[j + 5] = g2[i].Y[1];
        }
        uint256[1] memory out;
        assembly ("memory-safe") {
            callOk := staticcall(pairingGas, 0x08, add(input, 0x20), mul(n, 0xc0), out, 0x20)
        }
        pairingSuccessful = callOk && out[0] == 1;
    }

    /// @notice Whether e(a1, a2) · e(b1, b2) == 1, giving the precompile all remaining gas; reverts when the
    /// precompile refuses the input.
    function pairing(G1Point memory a1, G2Point memory a2, G1Point memory b1, G2Point memory b2)
        internal
        view
        returns (bool)
    {
        (bool success, bool callOk) = safePairing(a1, a2, b1, b2, gasleft());
        if (!callOk) revert BN254PrecompileFailed(0x08);
        return success;
    }

    /// @notice EigenLayer's try-and-increment map from a 32-byte digest to G1: x = digest mod p; while x³ + 3 has no
    /// square root, x = x + 1 (mod p); y = (x³ + 3)^((p+1)/4). The TypeScript `hashToG1` in protocol/bls computes
    /// the same point.
    /// @dev Not constant-time and not indifferentiable from a random oracle; it is used only on keccak outputs,
    /// where that does not matter (digests 0, 1 and p all map to the generator). About half of all x succeed, so the
    /// loop runs twice on average; it cannot run forever since squares exist among any few consecutive x.
    function hashToG1(bytes32 digest) internal view returns (G1Point memory point) {
        uint256 x = uint256(digest) % FP_MODULUS;
        for (;;) {
            uint256 beta = addmod(mulmod(mulmod(x, x, FP_MODULUS), x, FP_MODULUS), 3, FP_MODULUS);
            uint256 y = _sqrtCandidate(beta);
            if (mulmod(y, y, FP_MODULUS) == beta) {
                point.X = x;
                point.Y = y;
                return point;
            }
            x = addmod(x, 1, FP_MODULUS);
        }
    }

    /// @notice `hashToG1(digest)` checked from supplied square roots instead of computed: the same point for a
    /// fraction of the gas (no modexp call, a few mulmods per step), with `ok` false for any wrong witness.
    /// @param witness one entry per x that `hashToG1` skips (a square root of −(x³ + 3): since −1 is not a square
    /// mod p ≡ 3 (mod 4), this proves x³ + 3 has none), then y, a square root of x³ + 3 for the x that succeeds,
    /// then a square root of y. The last one pins y to the root `hashToG1` returns, β^((p+1)/4), the only one of
    /// ±y that is itself a square. `hashToG1Witness` computes it.
    function hashToG1Witnessed(bytes32 digest, uint256[] calldata witness)
        internal
        pure
        returns (bool ok, G1Point memory point)
    {
        uint256 n = witness.length;
        if (n < 2) return (false, point);
        uint256 x = uint256(digest) % FP_MODULUS;
        for (uint256 i = 0; i < n - 2; i++) {
            uint256 beta = addmod(mulmod(mulmod(x, x, FP_MODULUS), x, FP_MODULUS), 3, FP_MODULUS);
            // w² = −β with β ≠ 0 (x³ + 3 = 0 has no solution on BN254, whose G1 has no point of order 2).
            uint256 w = witness[i];
            if (beta == 0 || addmod(mulmod(w, w, FP_MODULUS), beta, FP_MODULUS) != 0) return (false, point);
            x = addmod(x, 1, FP_MODULUS);
        }
        uint256 y = witness[n - 2];
        uint256 z = witness[n - 1];
        uint256 b = addmod(mulmod(mulmod(x, x, FP_MODULUS), x, FP_MODULUS), 3, FP_MODULUS);
        if (y >= FP_MODULUS || mulmod(y, y, FP_MODULUS) != b || mulmod(z, z, FP_MODULUS) != y) return (false, point);
        point.X = x;
        point.Y = y;
        ok = true;
    }

    /// @notice The witness `hashToG1Witnessed` takes for `digest` (for eth_call: it computes square roots through
    /// the modexp precompile, as `hashToG1` does).
    function hashToG1Witness(bytes32 digest) internal view returns (uint256[] memory witness) {
        uint256 x = uint256(digest) % FP_MODULUS;
        uint256 skipped = 0;
        while (!_hasSqrt(_curveRhs(addmod(x, skipped, FP_MODULUS)))) skipped++;
        witness = new uint256[](skipped + 2);
        for (uint256 i = 0; i < skipped; i++) {
            witness[i] = _sqrtCandidate(FP_MODULUS - _curveRhs(addmod(x, i, FP_MODULUS)));
        }
        uint256 y = _sqrtCandidate(_curveRhs(addmod(x, skipped, FP_MODULUS)));
        witness[skipped] = y;
        witness[skipped + 1] = _sqrtCandidate(y);
    }

    function _curveRhs(uint256 x) private pure returns (uint256) {
        return addmod(mulmod(mulmod(x, x, FP_MODULUS), x, FP_MODULUS), 3, FP_MODULUS);
    }

    function _hasSqrt(uint256 beta) private view returns (bool) {
        uint256 y = _sqrtCandidate(beta);
        return mulmod(y, y, FP_MODULUS) == beta;
    }

    /// @dev (p + 1) / 4: since p ≡ 3 (mod 4), beta^((p+1)/4) is a square root of beta whenever one exists.
    uint256 private constant SQRT_EXPONENT = 0x0c19139cb84c680a6e14116da060561765e05aa45a1c72a34f082305b61f3f52;

    /// @dev beta^((p+1)/4) mod p through the modexp precompile 0x05.
    function _sqrtCandidate(uint256 beta) private view returns (uint256 result) {
        bool ok;
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore(m, 0x20) // length of base
            mstore(add(m, 0x20), 0x20) // length of exponent
            mstore(add(m, 0x40), 0x20) // length of modulus
            mstore(add(m, 0x60), beta)
            mstore(add(m, 0x80), SQRT_EXPONENT)
            mstore(add(m, 0xa0), FP_MODULUS)
            ok := staticcall(gas(), 0x05, m, 0xc0, m, 0x20)
            result := mload(m)
        }
        if (!ok) revert BN254PrecompileFailed(0x05);
    }
}
