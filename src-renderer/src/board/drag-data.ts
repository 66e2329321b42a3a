// What a dragged node carries: its id under our own media type, so only nodes can be dropped on roles.
import type { DragEvent } from 'react'

const NODE_MEDIA_TYPE = 'application/x-crowbar-node'

export function startNodeDrag(event: DragEvent, nodeId: number, nodeName: string): void {
  event.dataTransfer.setData(NODE_MEDIA_TYPE, String(nodeId))
  event.dataTransfer.setData('text/plain', nodeName)
  event.dataTransfer.effectAllowed = 'link'
}

/** True while a node is dragged over (the data itself is readable only on drop). */
export function carriesNode(event: DragEvent): boolean {
  return event.dataTransfer.types.includes(NODE_MEDIA_TYPE)
}

export function droppedNodeId(event: DragEvent): number | null {
  const raw = event.dataTransfer.getData(NODE_MEDIA_TYPE)
  const id = Number(raw)
  return raw !== '' && Number.isInteger(id) && id > 0 ? id : null
}
