import { describe, expect, test } from 'vitest'
import { parseDuration } from '../../src/config/duration.js'

describe('parseDuration', () => {
  test.each([
    ['250ms', 250],
    ['2s', 2_000],
    ['1m', 60_000],
    ['1h', 3_600_000],
    ['1.5s', 1_500],
    ['1.1s', 1_100], // no floating-point noise
    ['0.5ms', 0.5],
    ['0s', 0], // the parser allows zero; each key decides whether it may be zero
    ['0ms', 0],
    ['90m', 5_400_000],
  ])('%s -> %d ms', (input, ms) => {
    expect(parseDuration(input)).toBe(ms)
  })

  test.each([
    ['2'], // bare number: no unit
    ['2.5'],
    [''],
    ['s'],
    ['2x'], // unknown unit
    ['2sec'],
    ['2S'],
    ['2us'],
    ['2d'],
    ['-1s'], // negative
    ['+1s'],
    [' 2s'],
    ['2 s'],
    ['1h30m'],
    ['.5s'],
    ['1.s'],
    ['Infinitys'],
    ['NaNms'],
  ])('%j is invalid', (input) => {
    expect(parseDuration(input)).toBeUndefined()
  })
})
