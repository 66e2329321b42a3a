// Shown instead of the app in a browser tab that has no API token: what happened and what to do.
export function MissingToken() {
  return (
    <main className="missing-token">
      <h1>Crowbar Desktop</h1>
      <div role="alert" className="error" data-testid="missing-token">
        This page needs the API token, and this tab has none (or the server no longer accepts it). Open the address that{' '}
        <code>npm start</code> (or <code>crowbar serve</code>) printed: it ends in <code>#token=…</code>. The token is also in the
        data directory&apos;s <code>api-token</code> file.
      </div>
    </main>
  )
}
