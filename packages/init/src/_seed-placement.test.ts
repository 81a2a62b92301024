import { describe, expect, it } from 'vitest'
import { UsageError, formatAddress } from '@redis-cluster/core'
import { parseSeedList, planPlacement } from './_seed-placement.ts'

const seeds = (text?: string) => parseSeedList(text)
const hostsOf = (list: string, perHost: number) => Array.from({ length: list.split(' ').length * perHost }, (_, i) => `${list.split(' ')[Math.floor(i / perHost)]}:${7000 + (i % perHost)}`).join(',')

/** Every replica off its master's host, and each master with at least `replicas` of them. */
function expectSound(plan: ReturnType<typeof planPlacement>, replicas: number) {
  for (const r of plan.replicas) expect(r.node.host, `${formatAddress(r.node)} follows ${formatAddress(r.master)}`).not.toBe(r.master.host)
  for (const m of plan.masters) expect(plan.replicas.filter((r) => r.master === m).length).toBeGreaterThanOrEqual(replicas)
}

describe('parseSeedList()', () => {
  it('works', () => {
    expect(seeds(' 10.0.0.5:6379, 10.0.0.6:6380 ,[::1]:7000')).toEqual([
      { host: '10.0.0.5', port: 6379 },
      { host: '10.0.0.6', port: 6380 },
      { host: '::1', port: 7000 },
    ])
  })

  it('refuses an empty list, a missing port, a host name and a node listed twice (UsageError, exit 2)', () => {
    for (const [list, message] of [
      [undefined, /--seeds is required/],
      ['  ', /--seeds is required/],
      ['10.0.0.5', /'10.0.0.5' is not ip:port/],
      ['10.0.0.5:6379,,10.0.0.6:6379', /'' is not ip:port/],
      ['redis-a.example:6379', /not a host name/],
      ['10.0.0.5:70000', /'10.0.0.5:70000' is not ip:port/],
      ['10.0.0.5:6379,10.0.0.6:6379,10.0.0.5:6379', /10\.0\.0\.5:6379 is listed twice/],
    ] as const) {
      expect(() => seeds(list as string | undefined)).toThrow(UsageError)
      expect(() => seeds(list as string | undefined)).toThrow(message)
    }
  })
})

describe('planPlacement()', () => {
  it('three hosts with two nodes each: three masters on three hosts, each replica on another host', () => {
    const plan = planPlacement(seeds(hostsOf('10.0.0.1 10.0.0.2 10.0.0.3', 2)), {})
    expect(new Set(plan.masters.map((m) => m.host)).size).toBe(3)
    expect(plan.replicas).toHaveLength(3)
    expectSound(plan, 1)
  })

  it('two hosts with three nodes each (the per-host stack twice): 3 masters, every replica on the other host', () => {
    const plan = planPlacement(seeds(hostsOf('10.0.0.1 10.0.0.2', 3)), {})
    expect(plan.masters).toHaveLength(3)
    expectSound(plan, 1)
  })

  it('--masters and --replicas: leftover nodes become extra replicas, spread', () => {
    const four = planPlacement(seeds(hostsOf('10.0.0.1 10.0.0.2 10.0.0.3 10.0.0.4', 2)), { masters: 3 })
    expect(four.masters).toHaveLength(3)
    expect(four.replicas).toHaveLength(5)
    expectSound(four, 1)
    const two = planPlacement(seeds(hostsOf('10.0.0.1 10.0.0.2 10.0.0.3', 3)), { replicas: 2 })
    expect(two.masters).toHaveLength(3)
    expectSound(two, 2)
  })

  it('uneven hosts: one with half the nodes gives one master, its others follow masters elsewhere', () => {
    // 10.0.0.1 holds 3 of 6 nodes: its two non-masters must follow the masters elsewhere
    const plan = planPlacement(seeds('10.0.0.1:1,10.0.0.1:2,10.0.0.1:3,10.0.0.2:1,10.0.0.2:2,10.0.0.3:1'), {})
    expectSound(plan, 1)
  })

  it('refuses what cannot keep replicas off their master host, fewer than 3 masters, and too few nodes', () => {
    expect(() => planPlacement(seeds(hostsOf('10.0.0.1', 6)), {})).toThrow(/cannot place 3 masters with 1 replica\(s\) each so that no replica is on its master's host \(nodes per host: 10\.0\.0\.1: 6\)/)
    expect(() => planPlacement(seeds('10.0.0.1:1,10.0.0.1:2,10.0.0.1:3,10.0.0.1:4,10.0.0.2:1,10.0.0.2:2'), {})).toThrow(/cannot place 3 masters/)
    expect(() => planPlacement(seeds(hostsOf('10.0.0.1 10.0.0.2', 2)), {})).toThrow(/4 node\(s\) with 1 replica\(s\) per master give 2 master\(s\): a cluster needs at least 3/)
    expect(() => planPlacement(seeds(hostsOf('10.0.0.1 10.0.0.2 10.0.0.3', 2)), { masters: 4 })).toThrow(/4 masters with 1 replica\(s\) each need 8 nodes, --seeds lists 6/)
  })
})
