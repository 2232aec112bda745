// Preloaded (`node --import`) into devnet children whose code cannot watch their parent themselves (the hardhat
// node): when the parent pid changes — the devnet was killed with SIGKILL, which it cannot trap, and the child was
// re-parented — the child sends itself SIGTERM, as the devnet's own stop would. The operator and aggregator do the
// same through protocol/lifecycle.ts. Plain JavaScript: it runs before any TypeScript loader.
const parent = process.ppid;
if (parent > 1) {
  const timer = setInterval(() => {
    if (process.ppid !== parent) {
      clearInterval(timer);
      process.kill(process.pid, "SIGTERM");
    }
  }, 500);
  timer.unref();
}
