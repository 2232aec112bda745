import { expect } from "chai";
import { enumName, enumValues, memberEntry } from "../../protocol/chain/enumNames.js";
import { CloseReason, OnChainBatchStatus, OperatorStatus, SkipReason, Tier } from "../../protocol/chain/enums.js";

describe("protocol/chain/enumNames.ts", () => {
  it("given one-word members → it should give them in lower case, the first and the last value included", () => {
    expect(enumName(OperatorStatus, OperatorStatus.None)).to.equal("none");
    expect(enumName(OperatorStatus, OperatorStatus.Exiting)).to.equal("exiting");
    expect(enumName(OperatorStatus, OperatorStatus.Withdrawn)).to.equal("withdrawn");
    expect(enumName(OnChainBatchStatus, OnChainBatchStatus.Abandoned)).to.equal("abandoned");
    expect(enumName(Tier, Tier.Ultra)).to.equal("ultra");
  });

  it("given members of several words → it should join them with a hyphen, as the CLI prints and the explorer stores them", () => {
    expect(enumName(CloseReason, CloseReason.RenterClosed)).to.equal("renter-closed");
    expect(enumName(CloseReason, CloseReason.HandoffTimeout)).to.equal("handoff-timeout");
    expect(enumName(SkipReason, SkipReason.OrderCreatedAfterReference)).to.equal("order-created-after-reference");
  });

  it("given a value one past the enum's last, or −1 → it should give the fallback (the number unless one is passed)", () => {
    expect(enumName(OperatorStatus, OperatorStatus.Withdrawn + 1)).to.equal(String(OperatorStatus.Withdrawn + 1));
    expect(enumName(CloseReason, CloseReason.HandoffTimeout + 1, "reason-6")).to.equal("reason-6");
    expect(enumName(Tier, -1)).to.equal("-1");
  });

  it("given a table by member name → memberEntry should give the entry of the first and the last value, and the fallback one past the last and at −1", () => {
    const table: Record<keyof typeof CloseReason, string> = {
      None: "n", Completed: "c", RenterClosed: "r", ProviderClosed: "p", ProviderFault: "f", HandoffTimeout: "h",
    };
    expect(memberEntry(CloseReason, table, CloseReason.None, "?")).to.equal("n");
    expect(memberEntry(CloseReason, table, CloseReason.RenterClosed, "?")).to.equal("r");
    expect(memberEntry(CloseReason, table, CloseReason.HandoffTimeout, "?")).to.equal("h");
    expect(memberEntry(CloseReason, table, CloseReason.HandoffTimeout + 1, "?")).to.equal("?");
    expect(memberEntry(CloseReason, table, -1, "?")).to.equal("?");
  });

  it("given a numeric enum → enumValues should give its values ascending, from the first to the last, without the reverse mapping's names", () => {
    expect(enumValues(Tier)).to.deep.equal([Tier.Entry, Tier.Low, Tier.Medium, Tier.High, Tier.Ultra]);
    expect(enumValues(CloseReason)[0]).to.equal(CloseReason.None);
    expect(enumValues(CloseReason).at(-1)).to.equal(CloseReason.HandoffTimeout);
    expect(enumValues(CloseReason)).to.have.length(CloseReason.HandoffTimeout + 1);
  });
});
