// The domain's own words: the entity schemas and types (zod) every layer speaks in. Nothing here
// imports anything of ours but itself; the contract, the store, the domain and the renderer import it.
export * from './primitives'
export * from './noderole-state'
export * from './deployment'
export * from './barclamp'
export * from './node'
export * from './noderole'
export * from './network'
export * from './job'
export * from './health'
export * from './setup'
export * from './change-event'
export * from './errors'
