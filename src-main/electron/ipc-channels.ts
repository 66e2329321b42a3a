// The two IPC channels between preload and main: one for calls, one for change events.
export const IPC_INVOKE_CHANNEL = 'crowbar:invoke'
export const IPC_CHANGE_CHANNEL = 'crowbar:change'
