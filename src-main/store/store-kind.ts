// Which SQL engine a store runs on; the few places that differ (ids, locking) branch on this.
export type StoreKind = 'sqlite' | 'postgres'
