/**
 * The world's agenda: a binary min-heap of events ordered by
 * (time, sequence number). The sequence number is given at scheduling
 * time, so two events due at the same millisecond always run in the order
 * they were scheduled. That total order is what keeps runs repeatable:
 * nothing depends on how the heap happens to arrange equal keys.
 *
 * Events carry their own time and sequence (one object per event, not a
 * wrapper around it: the world schedules several per simulated message).
 */
export interface Scheduled {
  /** Set by the queue when the event is scheduled. */
  time: number;
  /** Set by the queue when the event is scheduled. */
  sequence: number;
}

export class EventQueue<T extends Scheduled> {
  private readonly heap: T[] = [];
  private nextSequence = 0;

  get size(): number {
    return this.heap.length;
  }

  schedule(time: number, entry: T): void {
    this.scheduleAs(time, entry, this.nextSequence++);
  }

  /**
   * Set aside `count` sequence numbers, as if `count` events were scheduled
   * now; returns the first. An event later scheduled with one of them
   * (scheduleAs) keeps the place it would have had: how a repeating event
   * keeps only its next occurrence on the agenda and still runs in exactly
   * the order of one scheduled all at once.
   */
  reserve(count: number): number {
    const first = this.nextSequence;
    this.nextSequence += count;
    return first;
  }

  /** Schedule with a sequence number of one's own (from reserve). */
  scheduleAs(time: number, entry: T, sequence: number): void {
    entry.time = time;
    entry.sequence = sequence;
    const heap = this.heap;
    heap.push(entry);
    let child = heap.length - 1;
    while (child > 0) {
      const parent = (child - 1) >> 1;
      if (!before(entry, heap[parent]!)) break;
      heap[child] = heap[parent]!;
      child = parent;
    }
    heap[child] = entry;
  }

  peek(): T | undefined {
    return this.heap[0];
  }

  pop(): T | undefined {
    const heap = this.heap;
    const top = heap[0];
    const last = heap.pop();
    if (top === undefined || last === undefined || heap.length === 0) return top;
    let parent = 0;
    for (;;) {
      const left = 2 * parent + 1;
      if (left >= heap.length) break;
      const right = left + 1;
      const smaller = right < heap.length && before(heap[right]!, heap[left]!) ? right : left;
      if (!before(heap[smaller]!, last)) break;
      heap[parent] = heap[smaller]!;
      parent = smaller;
    }
    heap[parent] = last;
    return top;
  }
}

function before(a: Scheduled, b: Scheduled): boolean {
  return a.time < b.time || (a.time === b.time && a.sequence < b.sequence);
}
