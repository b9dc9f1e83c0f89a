// The queue of requests waiting for a server slot (src/core/wait-queue.ts), with explicit
// time: FIFO order, the size bound, leaving from the middle, deadlines, and a reload's new
// settings adopting the entries already waiting.
import { describe, expect, it } from 'vitest'
import { WaitQueue } from '../../src/core/wait-queue.js'

/** Runs ops on a queue of size 3, timeout 100 ms; returns what each op answered. */
function run(ops: readonly (readonly [op: string, arg: string | number, now?: number])[]): unknown[] {
  const q = new WaitQueue<string>(3, 100)
  return ops.map(([op, arg, now = 0]) => {
    switch (op) {
      case 'add': return q.add(arg as string, now)
      case 'remove': return q.remove(arg as string)
      case 'head': return q.head() ?? null
      case 'expired': return q.expired(arg as number).join(',')
      case 'next': return q.nextDeadline()
      case 'length': return q.length
      default: throw new Error(op)
    }
  })
}

describe('WaitQueue', () => {
  it.each<[string, [string, string | number, number?][], unknown[]]>([
    ['first in, first out', [['add', 'a'], ['add', 'b'], ['head', ''], ['remove', 'a'], ['head', '']], [true, true, 'a', true, 'b']],
    ['bounded: the 4th is refused', [['add', 'a'], ['add', 'b'], ['add', 'c'], ['add', 'd'], ['length', '']], [true, true, true, false, 3]],
    ['an entry is in it once', [['add', 'a'], ['add', 'a'], ['length', '']], [true, false, 1]],
    ['leaving from the middle keeps the order', [['add', 'a'], ['add', 'b'], ['add', 'c'], ['remove', 'b'], ['expired', 1000]], [true, true, true, true, 'a,c']],
    ['removing what is not there', [['remove', 'x']], [false]],
    ['room again after one leaves', [['add', 'a'], ['add', 'b'], ['add', 'c'], ['remove', 'a'], ['add', 'd']], [true, true, true, true, true]],
    ['deadline = added + timeout', [['add', 'a', 5], ['add', 'b', 30], ['next', '']], [true, true, 105]],
    ['expired: only those due, oldest first', [['add', 'a', 0], ['add', 'b', 50], ['expired', 99], ['expired', 100], ['head', ''], ['expired', 150], ['length', '']], [true, true, '', 'a', 'b', 'b', 0]],
    ['empty: no head, no deadline', [['head', ''], ['next', '']], [null, -1]],
  ])('%s', (_name, ops, expected) => {
    expect(run(ops)).toEqual(expected)
  })

  it('adopt: a reload\'s new settings keep the waiting entries with their deadlines', () => {
    const old = new WaitQueue<string>(2, 1000)
    old.add('a', 0)
    old.add('b', 10)
    const next = new WaitQueue<string>(5, 100)
    next.adopt(old)
    next.add('c', 20) // deadline 120, before a's 1000
    expect(next.head()).toBe('a')
    expect(next.nextDeadline()).toBe(120)
    expect(next.expired(200)).toEqual(['c'])
    expect(next.expired(1010)).toEqual(['a', 'b'])
    expect(next.length).toBe(0)
  })
})
