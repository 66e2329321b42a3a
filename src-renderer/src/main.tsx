// Renderer entry: mounts the app with the client for whichever transport carries the contract, and
// the one change stream every view listens to.
import { StrictMode } from 'react'
import { createRoot } from 'react-dom/client'
import { App } from './App'
import { MissingToken } from './errors/MissingToken'
import { createClient } from './api-client'
import { LiveProvider } from './live/LiveContext'
import { LiveChanges } from './live/live-changes'
import './styles.css'

const root = document.getElementById('root')
const client = createClient()
if (root && !client) {
  createRoot(root).render(
    <StrictMode>
      <MissingToken />
    </StrictMode>
  )
} else if (root && client) {
  const changes = new LiveChanges(client)
  changes.start()
  createRoot(root).render(
    <StrictMode>
      <LiveProvider client={client} changes={changes}>
        <App />
      </LiveProvider>
    </StrictMode>
  )
}
