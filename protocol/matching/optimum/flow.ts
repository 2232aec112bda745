/**
 * Reference solver (tests and benchmarks only, never used by the engine): the maximum-value transportation problem
 * behind docs/matching.md §10, solved exactly by successive shortest paths with Dijkstra and node potentials
 * (written here, no package). Orders are sources of g units each, offers pass units to the sink through unit slots
 * whose costs rise with the slot number (the headroom term), and every order may send units to the sink directly
 * ("unmatched", value 0). Each unit of each order is routed along a shortest path of reduced cost; the search stops
 * as soon as the sink is settled and only the nodes it settled have their potentials lowered, so a unit usually
 * touches a small part of the graph.
 *
 * With every order of one GPU this is the exact optimum of the matcher's objective. With larger orders it is the
 * relaxation where an order's GPUs may be split over offers and partly filled, hence an upper bound.
 */
export interface FlowProblem {
  orders: number;
  offers: number;
  /** Units (GPUs) per order. */
  supply: ArrayLike<number>;
  /** Units each offer can take. */
  capacity: ArrayLike<number>;
  /** Candidate arcs in CSR form by order: arcs of order i are [arcStart[i], arcStart[i+1]). */
  arcStart: Int32Array;
  arcOffer: Int32Array;
  /** Value per unit sent along the arc (≥ 0, ≤ valueCap). */
  arcValue: Float64Array;
  /** Value of the k-th unit an offer takes (non-increasing in k, ≥ 0, ≤ slotCap). */
  slotValue(offer: number, k: number): number;
  valueCap: number;
  slotCap: number;
}

export interface FlowSolution {
  /** Units on each arc. */
  flow: Int32Array;
  /** Units each offer took. */
  used: Int32Array;
  /** Σ arc values × units + Σ slot values of the slots used. */
  value: number;
  /**
   * Final node potentials (orders 0‥m−1, offers m‥m+n−1, the sink m+n): every residual arc a→b has reduced cost
   * cost + π_a − π_b ≥ 0, with cost = valueCap − value (order → offer), slotCap − slot value (offer → sink) and
   * valueCap + slotCap (order → sink, unmatched). Used to start the Lagrangian bound from the LP's duals.
   */
  potential: Float64Array;
}

/** A binary min-heap of (key, node) with lazy deletion. */
class MinHeap {
  private keys: number[] = [];
  private nodes: number[] = [];
  get size(): number {
    return this.keys.length;
  }
  clear(): void {
    this.keys.length = 0;
    this.nodes.length = 0;
  }
  push(k: number, v: number): void {
    const keys = this.keys;
    const nodes = this.nodes;
    let i = keys.length;
    keys.push(k);
    nodes.push(v);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (keys[p]! <= k) break;
      keys[i] = keys[p]!;
      nodes[i] = nodes[p]!;
      i = p;
    }
    keys[i] = k;
    nodes[i] = v;
  }
  /** Pops the smallest; returns its node, its key in `lastKey`. */
  lastKey = 0;
  pop(): number {
    const keys = this.keys;
    const nodes = this.nodes;
    const topK = keys[0]!;
    const topV = nodes[0]!;
    const k = keys.pop()!;
    const v = nodes.pop()!;
    const n = keys.length;
    if (n > 0) {
      let i = 0;
      for (;;) {
        let c = 2 * i + 1;
        if (c >= n) break;
        if (c + 1 < n && keys[c + 1]! < keys[c]!) c++;
        if (keys[c]! >= k) break;
        keys[i] = keys[c]!;
        nodes[i] = nodes[c]!;
        i = c;
      }
      keys[i] = k;
      nodes[i] = v;
    }
    this.lastKey = topK;
    return topV;
  }
}

export function solveFlow(p: FlowProblem): FlowSolution {
  const { orders: m, offers: n, arcStart, arcOffer, arcValue } = p;
  const nArcs = arcOffer.length;
  const T = m + n; // the sink
  const N = T + 1;
  // Costs are value complements, so all are ≥ 0 and potentials can start at 0.
  const arcCost = new Float64Array(nArcs);
  for (let e = 0; e < nArcs; e++) arcCost[e] = p.valueCap - arcValue[e]!;
  const dummyCost = p.valueCap + p.slotCap;
  const slotCost = (f: number, k: number): number => p.slotCap - p.slotValue(f, k);

  const flow = new Int32Array(nArcs);
  const used = new Int32Array(n);
  const dummy = new Int32Array(m);
  const sent = new Int32Array(m);
  const arcOrder = new Int32Array(nArcs);
  for (let i = 0; i < m; i++) for (let e = arcStart[i]!; e < arcStart[i + 1]!; e++) arcOrder[e] = i;
  // Arcs carrying flow, per offer (the residual graph's backward arcs offer → order).
  const carrying: number[][] = Array.from({ length: n }, () => []);

  const pot = new Float64Array(N);
  const dist = new Float64Array(N).fill(Infinity);
  const predArc = new Int32Array(N); // arc id into node; -1 none; for T: -2 - order (dummy) or -(3 + m + offer)... see below
  const predKind = new Int8Array(N); // 1 forward arc, 2 backward arc, 3 slot (offer → T), 4 dummy (order → T)
  const predNode = new Int32Array(N);
  const settled = new Uint8Array(N);
  const touched: number[] = [];
  const heap = new MinHeap();

  const relax = (v: number, d: number, kind: number, from: number, arc: number): void => {
    if (d < dist[v]!) {
      if (dist[v] === Infinity) touched.push(v);
      dist[v] = d;
      predKind[v] = kind;
      predNode[v] = from;
      predArc[v] = arc;
      heap.push(d, v);
    }
  };

  for (let src = 0; src < m; src++) {
    const units = p.supply[src]!;
    for (let u = 0; u < units; u++) {
      heap.clear();
      touched.length = 0;
      const order: number[] = []; // settled nodes in settle order
      relax(src, 0, 0, -1, -1);
      let dT = Infinity;
      while (heap.size > 0) {
        const v = heap.pop();
        const d = heap.lastKey;
        if (settled[v] === 1 || d > dist[v]!) continue;
        settled[v] = 1;
        order.push(v);
        if (v === T) {
          dT = d;
          break;
        }
        const pv = pot[v]!;
        if (v < m) {
          // order node: forward arcs with room, and the dummy arc
          const g = p.supply[v]!;
          for (let e = arcStart[v]!; e < arcStart[v + 1]!; e++) {
            if (flow[e]! >= g) continue;
            const w = m + arcOffer[e]!;
            if (settled[w] === 1) continue;
            relax(w, d + arcCost[e]! + pv - pot[w]!, 1, v, e);
          }
          if (dummy[v]! < g && settled[T] === 0) relax(T, d + dummyCost + pv - pot[T]!, 4, v, -1);
        } else {
          const f = v - m;
          if (used[f]! < p.capacity[f]! && settled[T] === 0) relax(T, d + slotCost(f, used[f]!) + pv - pot[T]!, 3, v, -1);
          const list = carrying[f]!;
          for (let j = 0; j < list.length; j++) {
            const e = list[j]!;
            const o = arcOrder[e]!;
            if (settled[o] === 1) continue;
            relax(o, d - arcCost[e]! + pv - pot[o]!, 2, v, e);
          }
        }
      }
      if (dT === Infinity) throw new Error("flow: no path to the sink (the dummy arc should always exist)");
      // Potentials: settled nodes are lowered by how much closer than the sink they were (keeps reduced costs ≥ 0).
      for (const v of order) pot[v]! -= dT - dist[v]!;
      // Augment one unit along the predecessor chain.
      let v = T;
      while (v !== src) {
        const kind = predKind[v]!;
        const from = predNode[v]!;
        const e = predArc[v]!;
        if (kind === 1) {
          if (flow[e] === 0) carrying[arcOffer[e]!]!.push(e);
          flow[e]!++;
        } else if (kind === 2) {
          flow[e]!--;
          if (flow[e] === 0) {
            const list = carrying[arcOffer[e]!]!;
            list.splice(list.indexOf(e), 1);
          }
        } else if (kind === 3) used[from - m]!++;
        else if (kind === 4) dummy[from]!++;
        v = from;
      }
      sent[src]!++;
      for (const t of touched) {
        dist[t] = Infinity;
        settled[t] = 0;
      }
    }
  }

  let value = 0;
  for (let e = 0; e < nArcs; e++) value += flow[e]! * arcValue[e]!;
  for (let f = 0; f < n; f++) for (let k = 0; k < used[f]!; k++) value += p.slotValue(f, k);
  return { flow, used, value, potential: pot };
}
