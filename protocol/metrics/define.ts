/**
 * Metric constructors bound to one prom-client registry, so that every metric of a process is declared in one line
 * and none lands on prom-client's global registry by mistake. Label names given as a literal array type the
 * metric's labels (`counter("x_total", "…", ["duty"])` is a `Counter<"duty">`).
 */
import { Counter, Gauge, Histogram, type Registry } from "prom-client";

export function metricsOn(register: Registry) {
  const registers = [register];
  return {
    counter: <L extends string = string>(name: string, help: string, labelNames: readonly L[] = []) =>
      new Counter<L>({ name, help, labelNames, registers }),
    gauge: <L extends string = string>(name: string, help: string, labelNames: readonly L[] = []) =>
      new Gauge<L>({ name, help, labelNames, registers }),
    histogram: <L extends string = string>(name: string, help: string, buckets: number[], labelNames: readonly L[] = []) =>
      new Histogram<L>({ name, help, buckets, labelNames, registers }),
  };
}
