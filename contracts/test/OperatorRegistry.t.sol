// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {BN254} from "../libraries/BN254.sol";
import {OperatorRegistry} from "../avs/OperatorRegistry.sol";
import {IOperatorRegistryTypes} from "../interfaces/IOperatorRegistry.sol";
import {TestToken} from "../harness/TestToken.sol";

/// @dev The few cheat codes used, at the standard cheat-code address (forge-std is not a dependency: it has no maintained npm release).
interface Vm {
    function roll(uint256 newHeight) external;
}

/// @dev An operator's own address: registers, tops up and leaves through the registry like an EOA would.
contract OperatorActor {
    function register(
        OperatorRegistry registry,
        TestToken token,
        uint256 stake,
        BN254.G1Point calldata pkG1,
        BN254.G2Point calldata pkG2,
        BN254.G1Point calldata pop
    ) external {
        token.approve(address(registry), stake);
        registry.register(stake, pkG1, pkG2, pop, "/ip4/127.0.0.1/tcp/9000");
    }

    function topUp(OperatorRegistry registry, TestToken token, uint256 amount) external {
        token.approve(address(registry), amount);
        registry.topUp(amount);
    }

    function deregister(OperatorRegistry registry) external {
        registry.deregister();
    }

    function withdrawStake(OperatorRegistry registry) external {
        registry.withdrawStake();
    }
}

/// @notice Drives the registry through random sequences of register / top-up / deregister / withdraw / jail /
/// slash / block advances, keeping its own model of the set and a snapshot of (total stake, apk, set size) at the
/// end of every block it leaves. Keys: secrets below with G2 keys computed by noble-curves; G1 keys and proofs of
/// possession are computed on-chain from the secrets.
contract RegistryHandler {
    Vm private constant VM = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));
    uint256 internal constant N = 6;
    uint256 internal constant MIN_STAKE = 1e18;
    uint32 internal constant EXIT_DELAY = 5;

    OperatorRegistry public immutable registry;
    TestToken public immutable token;
    OperatorActor[N] internal _actors;
    uint256[N] internal _sk;
    BN254.G2Point[N] internal _pkG2;
    BN254.G1Point[N] internal _pkG1;

    // Model.
    bool[N] public registered;
    IOperatorRegistryTypes.OperatorStatus[N] public status;
    uint256[N] public stakeOf;
    uint256 public paidOut; // withdrawn + slashed

    // Snapshots at the end of blocks the handler left.
    uint256[] public snapBlocks;
    uint256[] public snapTotals;
    uint256[] public snapCounts;
    BN254.G1Point[] internal _snapApks;

    uint256 public calls;

    constructor() {
        token = new TestToken("stake", "STK");
        registry = new OperatorRegistry(address(this), token, address(0xBEEF), MIN_STAKE, EXIT_DELAY);
        for (uint256 i = 0; i < N; i++) _actors[i] = new OperatorActor();
        _sk[0] = 3704715318309145551534965068653733440768602288620447092736016631347497484684;
        _pkG2[0] = BN254.G2Point([uint256(21696046949792178556802271907160053579766653569694912638771717387153881755578), 12114088107594272606750738810546413117258495023240520289115556367346460614318], [uint256(18266648498483027488010788989204022113904015657279415664579179974879425664500), 5828221850798787758192362016494589265951087181072911596027054184458496615197]);
        _sk[1] = 2406121181862998896040691187701623374810104519970494253815131657954560311630;
        _pkG2[1] = BN254.G2Point([uint256(209425396552069224852134934577339677805077203857273091408537941427387738197), 20949117768682251347737316843952159935448654402332074493546217042220740262982], [uint256(176346402955452354977412863992611156335380812069750658648972214519347264551), 14890597227930645829136128392349694919254678634668281222088041803617623320545]);
        _sk[2] = 10758839560167633728663555694976032763530191673926016694322306598367530191883;
        _pkG2[2] = BN254.G2Point([uint256(12998538535398345226234333677902445699523484269050102899338432065852277231512), 17912174160359217982473464209640970990394675945431218025325272317738151178453], [uint256(2795540892483451970375003641310266612429951404458228020539030625342653420353), 9758749490260489305021310016277224596581916257608612496723116843119623335903]);
        _sk[3] = 8445520602438376949469003942985824704158342170397585540245165109178368550891;
        _pkG2[3] = BN254.G2Point([uint256(8895446213799793323817453562165887896684681464226474845561706232460401681167), 14020517461872146430609229135172354612821774762442560258552270979621253573141], [uint256(21451587513969766915362315661253740979545411032826885096330884782259967007945), 21436178818310567980423433402807105702508505047147632347720134354355117171871]);
        _sk[4] = 2012695628926290622308708526843328753069225732692295478210614281726739963010;
        _pkG2[4] = BN254.G2Point([uint256(11783520248343714299776723057849376801736065363124807068545196721126042423968), 2571172897294340305909820787216718203410471607676517942006167717118173877206], [uint256(9480737987282467609291133994636858995269723204605452694218301945156031641141), 12064078416076849649391937017154509609585227890513534172166759361769105380355]);
        _sk[5] = 7858589269577482284177920673047163039173353294298424231696594113107693519154;
        _pkG2[5] = BN254.G2Point([uint256(16686285506759128625996884317040964943313566292609253846732993049123218991170), 11668469237953488230515072077168213352648131154400909484483997822917907821636], [uint256(21005378535176247315693135186848398783815276823397393506863298377302344549088), 17285647493252094889536447455834266205842220562119296839268207579354326308211]);
        for (uint256 i = 0; i < N; i++) _pkG1[i] = BN254.scalarMul(BN254.generatorG1(), _sk[i]);
    }

    /// @notice Makes this handler the registry's slasher (once; later calls do nothing). Not in the constructor: the
    /// registry asks the slasher for its window, and a contract under construction has no code to answer.
    function becomeSlasher() external {
        if (registry.slasher() == address(0)) registry.setSlasher(address(this));
    }

    /// @notice ISlashingWindow: the whole exit delay.
    function slashingWindow() external pure returns (uint256) {
        return EXIT_DELAY;
    }

    function _bound(uint256 x, uint256 lo, uint256 hi) private pure returns (uint256) {
        return lo + (x % (hi - lo + 1));
    }

    function register(uint256 i, uint256 stake) external {
        i %= N;
        if (registered[i]) return;
        calls++;
        stake = _bound(stake, MIN_STAKE, 1_000e18);
        OperatorActor actor = _actors[i];
        BN254.G1Point memory h = BN254.hashToG1(registry.popMessageHash(address(actor)));
        token.mint(address(actor), stake);
        actor.register(registry, token, stake, _pkG1[i], _pkG2[i], BN254.scalarMul(h, _sk[i]));
        registered[i] = true;
        status[i] = IOperatorRegistryTypes.OperatorStatus.Active;
        stakeOf[i] = stake;
    }

    function topUp(uint256 i, uint256 amount) external {
        i %= N;
        if (status[i] != IOperatorRegistryTypes.OperatorStatus.Active) return;
        calls++;
        amount = _bound(amount, 1, 100e18);
        token.mint(address(_actors[i]), amount);
        _actors[i].topUp(registry, token, amount);
        stakeOf[i] += amount;
    }

    function deregister(uint256 i) external {
        i %= N;
        IOperatorRegistryTypes.OperatorStatus s = status[i];
        if (s != IOperatorRegistryTypes.OperatorStatus.Active && s != IOperatorRegistryTypes.OperatorStatus.Jailed) return;
        calls++;
        _actors[i].deregister(registry);
        status[i] = IOperatorRegistryTypes.OperatorStatus.Exiting;
    }

    function withdraw(uint256 i) external {
        i %= N;
        if (status[i] != IOperatorRegistryTypes.OperatorStatus.Exiting) return;
        if (block.number < registry.getOperator(_id(i)).exitableAt) return;
        calls++;
        _actors[i].withdrawStake(registry);
        paidOut += stakeOf[i];
        stakeOf[i] = 0;
        status[i] = IOperatorRegistryTypes.OperatorStatus.Withdrawn;
    }

    function jail(uint256 i) external {
        i %= N;
        if (status[i] != IOperatorRegistryTypes.OperatorStatus.Active) return;
        calls++;
        registry.jail(_id(i));
        status[i] = IOperatorRegistryTypes.OperatorStatus.Jailed;
    }

    function slash(uint256 i, uint256 bps, uint256 bountyBps) external {
        i %= N;
        IOperatorRegistryTypes.OperatorStatus s = status[i];
        if (!registered[i] || s == IOperatorRegistryTypes.OperatorStatus.Withdrawn) return;
        calls++;
        bps = _bound(bps, 0, 10_000);
        (uint256 cut,) = registry.slash(_id(i), bps, address(0xB0B7), _bound(bountyBps, 0, 10_000));
        require(cut == stakeOf[i] * bps / 10_000, "slash amount");
        stakeOf[i] -= cut;
        paidOut += cut;
        if (s == IOperatorRegistryTypes.OperatorStatus.Active) status[i] = IOperatorRegistryTypes.OperatorStatus.Jailed;
    }

    /// @notice Ends the current block: records what the set must look like at it, then moves on 1–8 blocks.
    function advance(uint256 blocks) external {
        calls++;
        (uint256 total, BN254.G1Point memory apk, uint256 count) = modelSet();
        snapBlocks.push(block.number);
        snapTotals.push(total);
        snapCounts.push(count);
        _snapApks.push(apk);
        VM.roll(block.number + _bound(blocks, 1, 8));
    }

    /// @notice The model's current set: total weight, aggregate key and size of the Active operators.
    function modelSet() public view returns (uint256 total, BN254.G1Point memory apk, uint256 count) {
        for (uint256 i = 0; i < N; i++) {
            if (status[i] != IOperatorRegistryTypes.OperatorStatus.Active) continue;
            total += stakeOf[i];
            apk = count == 0 ? _pkG1[i] : BN254.plus(apk, _pkG1[i]);
            count++;
        }
    }

    function snapApk(uint256 k) external view returns (BN254.G1Point memory) {
        return _snapApks[k];
    }

    function snapshotCount() external view returns (uint256) {
        return snapBlocks.length;
    }

    function id(uint256 i) external view returns (bytes32) {
        return _id(i);
    }

    function _id(uint256 i) private view returns (bytes32) {
        return keccak256(abi.encodePacked(_pkG1[i].X, _pkG1[i].Y));
    }
}

/// @notice Invariants of the operator registry over random operation sequences: tokens held equal the stakes held;
/// the current total and apk equal the model's active set; and every past block's total, apk and set size read
/// back exactly as they were when the block ended, however the set changed afterwards.
contract OperatorRegistryInvariantTest {
    RegistryHandler private handler;

    function setUp() public {
        handler = new RegistryHandler();
        handler.becomeSlasher();
    }

    function targetContracts() public view returns (address[] memory targets) {
        targets = new address[](1);
        targets[0] = address(handler);
    }

    /// @notice The handler itself works: a fixed sequence through every action, with block advances, so that the
    /// invariants below (run with fail-on-revert) are not passing on sequences of silently failed calls.
    function test_handlerDrivesEveryAction() public {
        for (uint256 i = 0; i < 6; i++) handler.register(i, 5e18 + i); // bounded to 1e18 + 5e18 + i
        require(handler.registry().operatorCount() == 6, "all registered");
        uint256 b0 = block.number;
        handler.advance(0);
        require(block.number == b0 + 1, "roll");
        handler.topUp(0, 7); // bounded to 1 + 7 = 8
        handler.jail(1);
        handler.slash(2, 5_000, 1_000);
        handler.deregister(3);
        handler.deregister(1);
        handler.advance(0);
        require(block.number == b0 + 2, "roll 1");
        handler.withdraw(3); // before exitableAt = b0 + 1 + EXIT_DELAY: a no-op
        require(uint8(handler.status(3)) == uint8(IOperatorRegistryTypes.OperatorStatus.Exiting), "still exiting");
        handler.advance(7);
        require(block.number == b0 + 10, "roll 8");
        handler.withdraw(3);
        require(uint8(handler.status(3)) == uint8(IOperatorRegistryTypes.OperatorStatus.Withdrawn), "withdrawn");
        (uint256 total,, uint256 count) = handler.modelSet();
        require(count == 3 && total == (6e18 + 8) + (6e18 + 4) + (6e18 + 5), "active set: operators 0, 4 and 5");
        require(handler.snapshotCount() == 3, "three snapshots");
        invariant_tokensHeldEqualStakesHeld();
        invariant_currentSetMatchesModel();
        invariant_pastBlocksReadBackUnchanged();
    }

    /// forge-config: default.invariant.runs = 64
    /// forge-config: default.invariant.depth = 40
    /// forge-config: default.invariant.fail-on-revert = true
    function invariant_tokensHeldEqualStakesHeld() public view {
        OperatorRegistry registry = handler.registry();
        uint256 held;
        for (uint256 i = 0; i < 6; i++) {
            if (!handler.registered(i)) continue;
            uint256 onChain = registry.getOperator(handler.id(i)).stake;
            require(onChain == handler.stakeOf(i), "operator stake differs from the model");
            held += onChain;
        }
        require(handler.token().balanceOf(address(registry)) == held, "registry balance != stakes held");
    }

    /// forge-config: default.invariant.runs = 64
    /// forge-config: default.invariant.depth = 40
    /// forge-config: default.invariant.fail-on-revert = true
    function invariant_currentSetMatchesModel() public view {
        OperatorRegistry registry = handler.registry();
        (uint256 total, BN254.G1Point memory apk,) = handler.modelSet();
        require(registry.currentTotalStake() == total, "total stake");
        BN254.G1Point memory onChain = registry.currentApk();
        require(onChain.X == apk.X && onChain.Y == apk.Y, "apk");
        for (uint256 i = 0; i < 6; i++) {
            if (!handler.registered(i)) continue;
            require(uint8(registry.getOperator(handler.id(i)).status) == uint8(handler.status(i)), "status");
        }
    }

    /// forge-config: default.invariant.runs = 64
    /// forge-config: default.invariant.depth = 40
    /// forge-config: default.invariant.fail-on-revert = true
    function invariant_pastBlocksReadBackUnchanged() public view {
        OperatorRegistry registry = handler.registry();
        uint256 n = handler.snapshotCount();
        for (uint256 k = 0; k < n; k++) {
            uint32 b = uint32(handler.snapBlocks(k));
            require(registry.totalStakeAt(b) == handler.snapTotals(k), "total stake at a past block");
            BN254.G1Point memory apk = registry.apkAt(b);
            BN254.G1Point memory expected = handler.snapApk(k);
            require(apk.X == expected.X && apk.Y == expected.Y, "apk at a past block");
            require(registry.operatorsAt(b).length == handler.snapCounts(k), "set size at a past block");
            // The hinted reads a signature check makes give the same values at the hints the registry computes.
            bytes32[] memory ids = new bytes32[](6);
            for (uint256 i = 0; i < 6; i++) ids[i] = handler.id(i);
            (BN254.G1Point memory hintedApk, uint256 hintedTotal, uint256[] memory stakes) =
                registry.signatureCheckInputs(b, ids, registry.historyHints(b, ids));
            require(hintedTotal == handler.snapTotals(k), "hinted total stake at a past block");
            require(hintedApk.X == expected.X && hintedApk.Y == expected.Y, "hinted apk at a past block");
            for (uint256 i = 0; i < 6; i++) require(stakes[i] == registry.stakeAt(ids[i], b), "hinted stake");
        }
    }
}
