import { describe, expect, it } from 'vitest'
import { parseClusterNodes } from './cluster-nodes.ts'
import { classifyFormation, type FormationView } from './formation.ts'
import { splitSlots } from './layout.ts'

const ranges = splitSlots(3)
const stack = { nodes: Array.from({ length: 6 }, (_, i) => ({ name: `redis-node-${i}`, slots: ranges[i] })) }
const id = (j: number) => `${j}`.repeat(40)
const ALL = [0, 1, 2, 3, 4, 5]

/** What one node says about itself. */
interface Self {
  slots?: string
  master?: number
}

/** Builds each node's CLUSTER NODES text from what every node says about itself and whom it knows (default: only itself). */
function views(selves: Self[], knows: Record<number, readonly number[]> = {}, extra: Record<number, string[]> = {}, all = ALL): FormationView[] {
  const line = (k: number, myself: boolean) => {
    const { slots = '', master } = selves[k] ?? {}
    const role = master === undefined ? 'master' : 'slave'
    return `${id(k)} 127.0.0.1:${7000 + k}@${17000 + k} ${myself ? 'myself,' : ''}${role} ${master === undefined ? '-' : id(master)} 0 0 0 connected ${slots}`
  }
  return all.map((j) => {
    const text = [line(j, true), ...(knows[j] ?? []).filter((k) => k !== j).map((k) => line(k, false)), ...(extra[j] ?? [])].join('\n')
    const entries = parseClusterNodes(text)
    return { entries, myself: entries.find((e) => e.myself)! }
  })
}
const everyoneKnowsEveryone = Object.fromEntries(ALL.map((j) => [j, ALL]))
const spec: Self[] = [{ slots: '0-5460' }, { slots: '5461-10922' }, { slots: '10923-16383' }, { master: 0 }, { master: 1 }, { master: 2 }]
const noReplicas: Self[] = [spec[0]!, spec[1]!, spec[2]!, {}, {}, {}]
const foreign = `${'f'.repeat(40)} 10.9.9.9:7000@17000 master - 0 0 0 connected`
const handshake = `${'e'.repeat(40)} 127.0.0.1:7001@17001 handshake - 0 0 0 connected`

describe('classifyFormation()', () => {
  it('works: the spec layout is formed', () => {
    expect(classifyFormation(stack, views(spec, everyoneKnowsEveryone))).toEqual({ state: 'formed', owners: [], problems: [] })
  })

  it('calls nodes that know only themselves and own nothing fresh', () => {
    expect(classifyFormation(stack, views([]))).toEqual({ state: 'fresh', owners: [0, 1, 2], problems: [] })
  })

  it('does not call a node in a handshake fresh', () => {
    expect(classifyFormation(stack, views([], {}, { 0: [handshake] })).state).toBe('partial')
  })

  describe('formed', () => {
    it('accepts a pair swapped by a failover', () => {
      const swapped: Self[] = [{ master: 3 }, spec[1]!, spec[2]!, { slots: '0-5460' }, spec[4]!, spec[5]!]
      expect(classifyFormation(stack, views(swapped, everyoneKnowsEveryone)).state).toBe('formed')
    })

    it('accepts a deliberate reshard', () => {
      const resharded: Self[] = [{ slots: '0-5460 5461-6000' }, { slots: '6001-10922' }, ...spec.slice(2)]
      expect(classifyFormation(stack, views(resharded, everyoneKnowsEveryone)).state).toBe('formed')
    })

    it('is not formed while a node does not know another', () => {
      const knows = { ...everyoneKnowsEveryone, 5: [0, 1, 2, 3, 5] }
      expect(classifyFormation(stack, views(spec, knows)).state).toBe('partial')
    })

    it('is not formed while a slot has no owner or two', () => {
      const gap: Self[] = [{ slots: '0-5459' }, ...spec.slice(1)]
      expect(classifyFormation(stack, views(gap, everyoneKnowsEveryone)).state).toBe('refused')
      const twice: Self[] = [spec[0]!, { slots: '0-5460 5461-10922' }, ...spec.slice(2)]
      expect(classifyFormation(stack, views(twice, everyoneKnowsEveryone)).state).toBe('refused')
    })
  })

  describe('partial', () => {
    it('finishes all slots assigned and all nodes met but no replica (an `up` killed before REPLICATE)', () => {
      expect(classifyFormation(stack, views(noReplicas, everyoneKnowsEveryone))).toEqual({ state: 'partial', owners: [0, 1, 2], problems: [] })
    })

    it('finishes a pair swapped before the replicas were attached', () => {
      const swapped: Self[] = [{}, spec[1]!, spec[2]!, { slots: '0-5460' }, {}, {}]
      expect(classifyFormation(stack, views(swapped, everyoneKnowsEveryone))).toMatchObject({ state: 'partial', owners: [3, 1, 2] })
    })

    it('finishes some slots assigned, some nodes met, one replica attached', () => {
      const some: Self[] = [spec[0]!, {}, {}, { master: 0 }, {}, {}]
      expect(classifyFormation(stack, views(some, { 0: [0, 3], 3: [0, 3] }))).toMatchObject({ state: 'partial', owners: [0, 1, 2] })
    })

    it('ignores entries in handshake', () => {
      expect(classifyFormation(stack, views(noReplicas, {}, { 2: [handshake] })).state).toBe('partial')
    })
  })

  describe('refused', () => {
    const refused = (selves: Self[], knows: Record<number, number[]> = {}, extra: Record<number, string[]> = {}) => {
      const result = classifyFormation(stack, views(selves, knows, extra))
      expect(result.state).toBe('refused')
      return result.problems
    }

    it("refuses a node owning another pair's range", () => {
      expect(refused([{}, { slots: '0-5460' }])).toEqual(["redis-node-1 owns slots 0-5460, not its pair's range 5461-10922"])
    })

    it('refuses a sub-range, which only a human makes', () => {
      expect(refused([spec[0]!, { slots: '5461-6000' }])).toEqual(["redis-node-1 owns slots 5461-6000, not its pair's range 5461-10922"])
    })

    it('refuses both members of a pair owning the range', () => {
      expect(refused([spec[0]!, {}, {}, { slots: '0-5460' }])).toEqual(['redis-node-0 and redis-node-3 both own slots 0-5460'])
    })

    it('refuses a foreign node', () => {
      expect(refused([spec[0]!], {}, { 0: [foreign] })).toEqual(['redis-node-0 knows a foreign node 10.9.9.9:7000'])
    })

    it('refuses a replica outside its pair, or of a member that owns nothing', () => {
      expect(refused([...noReplicas.slice(0, 4), { master: 0 }], everyoneKnowsEveryone)).toEqual(['redis-node-4 replicates a node outside its pair with redis-node-1'])
      expect(refused([{}, {}, {}, { master: 0 }], { 0: [0, 3], 3: [0, 3] })).toEqual(['redis-node-3 replicates redis-node-0, which owns no slots'])
    })

    it('names every problem it finds', () => {
      expect(refused([{ slots: '1-2' }, { slots: '3' }], {}, { 5: [foreign] })).toHaveLength(3)
    })
  })

  describe('with nodes added by cluster:add-node (node 6)', () => {
    const withAdded = { nodes: [...stack.nodes, { name: 'redis-node-6', slots: undefined, added: true as const }] }
    const ALL7 = [...ALL, 6]
    const all7 = Object.fromEntries(ALL7.map((j) => [j, ALL7]))
    const classify = (selves: Self[], knows: Record<number, readonly number[]> = all7) => classifyFormation(withAdded, views(selves, knows, {}, ALL7))
    const added = ["added node(s) redis-node-6 are not in a formed cluster with the other nodes: up forms the spec's nodes only, cluster:add-node joins an added one"]

    it('accepts a formed cluster where the added master owns slots (no replica yet: health reports that)', () => {
      const resharded: Self[] = [{ slots: '0-5460' }, { slots: '5461-10922' }, { slots: '10923-16283' }, ...spec.slice(3), { slots: '16284-16383' }]
      expect(classify(resharded)).toEqual({ state: 'formed', owners: [], problems: [] })
    })

    it('accepts an added master without slots yet (health reports it), and an added replica', () => {
      expect(classify([...spec, {}]).state).toBe('formed')
      expect(classify([...spec, { master: 1 }]).state).toBe('formed')
    })

    it('refuses everything else, fresh nodes too: up never forms added nodes', () => {
      expect(classify([...spec, {}], { ...everyoneKnowsEveryone, 6: [6] })).toEqual({ state: 'refused', owners: [], problems: added })
      expect(classify([], {})).toEqual({ state: 'refused', owners: [], problems: added })
      expect(classify([...spec.slice(0, 5), {}, { master: 5 }]).state).toBe('refused')
    })
  })
})
