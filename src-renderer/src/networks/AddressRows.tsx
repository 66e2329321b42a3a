// The editable rows of a network: its ranges (name, first, last) and its routers (address, preference).
import type { RangeRow, RouterRow } from './network-form'

export function RangeRows({ rows, onChange }: { rows: RangeRow[]; onChange: (rows: RangeRow[]) => void }) {
  const set = (i: number, change: Partial<RangeRow>): void => onChange(rows.map((r, j) => (j === i ? { ...r, ...change } : r)))
  return (
    <fieldset>
      <legend>Ranges</legend>
      <table className="rows">
        <thead>
          <tr>
            <th>Name</th>
            <th>First address</th>
            <th>Last address</th>
            <th>
              <span className="sr-only">Remove</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r, i) => (
            <tr key={i}>
              <td>
                <input aria-label={`Range ${i + 1} name`} value={r.name} onChange={(e) => set(i, { name: e.target.value })} size={8} />
              </td>
              <td>
                <input aria-label={`Range ${i + 1} first address`} value={r.first} onChange={(e) => set(i, { first: e.target.value })} />
              </td>
              <td>
                <input aria-label={`Range ${i + 1} last address`} value={r.last} onChange={(e) => set(i, { last: e.target.value })} />
              </td>
              <td>
                <button type="button" aria-label={`Remove range ${i + 1}`} onClick={() => onChange(rows.filter((_, j) => j !== i))}>
                  ×
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <button type="button" onClick={() => onChange([...rows, { name: 'host', first: '', last: '' }])}>
        Add range
      </button>
    </fieldset>
  )
}

export function RouterRows({ rows, onChange }: { rows: RouterRow[]; onChange: (rows: RouterRow[]) => void }) {
  const set = (i: number, change: Partial<RouterRow>): void => onChange(rows.map((r, j) => (j === i ? { ...r, ...change } : r)))
  return (
    <fieldset>
      <legend>Routers</legend>
      <table className="rows">
        <thead>
          <tr>
            <th>Address</th>
            <th>Preference</th>
            <th>
              <span className="sr-only">Remove</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r, i) => (
            <tr key={i}>
              <td>
                <input aria-label={`Router ${i + 1} address`} value={r.address} onChange={(e) => set(i, { address: e.target.value })} />
              </td>
              <td>
                <input aria-label={`Router ${i + 1} preference`} value={r.pref} onChange={(e) => set(i, { pref: e.target.value })} size={6} />
              </td>
              <td>
                <button type="button" aria-label={`Remove router ${i + 1}`} onClick={() => onChange(rows.filter((_, j) => j !== i))}>
                  ×
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <button type="button" onClick={() => onChange([...rows, { address: '', pref: '10' }])}>
        Add router
      </button>
    </fieldset>
  )
}
