/** cluster-key-slot ships no types: the slot (0-16383) of a key, hash tags included, from its bytes. */
declare module 'cluster-key-slot' {
  export default function calculateSlot(key: string | Uint8Array): number
}
