// The query workers' and helpers' entry, bundled on its own as dist/query-worker.mjs: the query side
// alone (a quarter of the CLI bundle's code) loads in a fraction of the time, and a restarted
// server's first answer waits for a worker. Importing the pool's module starts its worker side.
import './query-pool';
