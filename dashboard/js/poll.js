// SPDX-License-Identifier: BSD-2-Clause
// every(ms, fn): runs fn now and then every ms, never two at once; returns
// stop().  Pages refresh what they show with it.
export function every(ms, fn) {
  let busy = false;
  let stopped = false;
  const run = async () => {
    if (busy || stopped) return;
    busy = true;
    try {
      await fn();
    } finally {
      busy = false;
    }
  };
  run();
  const t = setInterval(run, ms);
  return () => {
    stopped = true;
    clearInterval(t);
  };
}
