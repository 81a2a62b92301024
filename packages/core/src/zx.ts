/**
 * zx, loaded on first use. Importing it costs ~80 ms, and most runs (status,
 * an `up` on a running stack) never start a process; the bundler puts it in
 * its own chunk so those runs never load it.
 */
export const loadZx = () => import('zx')
