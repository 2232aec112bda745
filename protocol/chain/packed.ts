/**
 * Decoders of the packed bulk views (`OfferBook.activeOffersPacked`, `Marketplace.openOrdersPacked`), which return
 * each entry as its id followed by the contract's storage words as stored: cheaper to produce on-chain than the ABI
 * encoding of a struct array (no per-field copying, a third to a quarter of the bytes). A storage word packs a
 * struct's fields from its lowest-order byte up, in declaration order (Solidity's storage layout); the field tables
 * below mirror the structs `OfferRecord` and `VersionRecord` of contracts/market/OfferBook.sol and `OrderRecord` of
 * contracts/market/Marketplace.sol. test/chain/packed-reads.test.ts checks every decoded entry against the ABI views
 * (`versionsAt`, `openOrders`) on generated markets, so a change of either struct's layout fails there.
 */
import { getAddress, type Address, type Hex } from "viem";
import type { OfferVersion, Order } from "../market/types.js";

/** Bytes per entry of `activeOffersPacked`: version id (8), offer record, version record slot 0 and slot 1 (32 each). */
export const PACKED_OFFER_BYTES = 104;
/** Bytes per entry of `openOrdersPacked`: order id (8), then the order record's four storage words. */
export const PACKED_ORDER_BYTES = 136;

/** A field of `bits` bits at bit `offset` (from the low end) of a storage word given as 64 hex digits. */
function hexField(word: string, offset: number, bits: number): string {
  return word.slice(64 - (offset + bits) / 4, 64 - offset / 4);
}
const num = (word: string, offset: number, bits: number): number => parseInt(hexField(word, offset, bits), 16);
const big = (word: string, offset: number, bits: number): bigint => BigInt(`0x${hexField(word, offset, bits)}`);

/** Checksummed addresses, computed once per distinct address of a read (a market has few providers and tokens). */
class Addresses {
  private readonly seen = new Map<string, Address>();
  of(word: string, offset: number): Address {
    const raw = hexField(word, offset, 160);
    let a = this.seen.get(raw);
    if (a === undefined) {
      a = getAddress(`0x${raw}`);
      this.seen.set(raw, a);
    }
    return a;
  }
}

function entries(packed: Hex, entryBytes: number, what: string): string[] {
  const body = packed.slice(2);
  if (body.length % (entryBytes * 2) !== 0) throw new Error(`${what}: ${body.length / 2} bytes is not a whole number of ${entryBytes}-byte entries`);
  const out: string[] = [];
  for (let i = 0; i < body.length; i += entryBytes * 2) out.push(body.slice(i, i + entryBytes * 2));
  return out;
}

/** Decodes `activeOffersPacked`'s bytes into the versions `versionsAt` returns for the same page. */
export function decodePackedOffers(packed: Hex): OfferVersion[] {
  const addrs = new Addresses();
  return entries(packed, PACKED_OFFER_BYTES, "activeOffersPacked").map((e) => {
    const offer = e.slice(16, 80); // OfferRecord: provider, gpusLeased u32, modelId u16, tier u8, withdrawn, gpuCapacity u32
    const v0 = e.slice(80, 144); // VersionRecord slot 0: pricePerGpuHour u128, activeFrom u64, activeUntil u64
    const v1 = e.slice(144, 208); // VersionRecord slot 1: offerId u64, gpuCount u32, paymentToken
    return {
      versionId: BigInt(`0x${e.slice(0, 16)}`),
      offerId: big(v1, 0, 64),
      provider: addrs.of(offer, 0),
      modelId: num(offer, 192, 16),
      gpuCount: num(v1, 64, 32),
      gpusLeased: num(offer, 160, 32),
      pricePerGpuHour: big(v0, 0, 128),
      paymentToken: addrs.of(v1, 96),
      activeFrom: big(v0, 128, 64),
      activeUntil: big(v0, 192, 64),
    };
  });
}

/** Decodes `openOrdersPacked`'s bytes into the orders `openOrders` returns for the same page, as `orderFromChain` flattens them. */
export function decodePackedOrders(packed: Hex): Order[] {
  const addrs = new Addresses();
  return entries(packed, PACKED_ORDER_BYTES, "openOrdersPacked").map((e) => {
    const s0 = e.slice(16, 80); // renter, modelId u16, minTier u8, gpuCount u32, preferredZone u16, minUptimeBps u16
    const s1 = e.slice(80, 144); // maxPricePerGpuHour u128, regionMask u64, expiresAt u64
    const s2 = e.slice(144, 208); // paymentToken, durationHours u32, minReputationBps u16, maxTimesSlashed u32
    const s3 = e.slice(208, 272); // createdAt u64, status u8, then the lease's fields
    return {
      orderId: BigInt(`0x${e.slice(0, 16)}`),
      renter: addrs.of(s0, 0),
      modelId: num(s0, 160, 16),
      minTier: num(s0, 176, 8),
      gpuCount: num(s0, 184, 32),
      regionMask: big(s1, 128, 64),
      preferredZone: num(s0, 216, 16),
      maxPricePerGpuHour: big(s1, 0, 128),
      durationHours: num(s2, 160, 32),
      minUptimeBps: num(s0, 232, 16),
      minReputationBps: num(s2, 192, 16),
      maxTimesSlashed: num(s2, 208, 32),
      expiresAt: big(s1, 192, 64),
      paymentToken: addrs.of(s2, 0),
      createdAt: big(s3, 0, 64),
      status: num(s3, 64, 8),
    };
  });
}
