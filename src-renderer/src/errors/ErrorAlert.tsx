// Shows failures in words, announced to screen readers; a dismiss button sits outside the alert so
// the alert's text is the message alone.
export function ErrorAlert({ messages, onDismiss, testId }: { messages: readonly string[]; onDismiss?: () => void; testId?: string }) {
  if (messages.length === 0) return null
  return (
    <div className="error-row">
      <div role="alert" className="error" data-testid={testId}>
        {messages.length === 1 ? messages[0] : messages.map((m) => <p key={m}>{m}</p>)}
      </div>
      {onDismiss && (
        <button type="button" className="dismiss" aria-label="Dismiss the message" onClick={onDismiss}>
          ×
        </button>
      )}
    </div>
  )
}
