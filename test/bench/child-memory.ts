// The child-process side of a memory measurement (cluster-process.ts, node-pipe-process.ts): on {type:
// 'memory'} from the parent it collects garbage fully and answers with what the process holds. The parent's
// side is memoryOf() in child-memory-request.ts.
export function answerMemoryRequests(): void {
  process.on('message', (msg: { type?: string }) => {
    if (msg.type !== 'memory') return;
    const gc = (globalThis as { gc?: () => void }).gc;
    // Two passes with a turn of the event loop between them: the first frees what the second can compact.
    gc?.();
    setImmediate(() => {
      gc?.();
      const m = process.memoryUsage();
      process.send?.({ type: 'memory', rss: m.rss, heapUsed: m.heapUsed, arrayBuffers: m.arrayBuffers, gc: !!gc });
    });
  });
}
