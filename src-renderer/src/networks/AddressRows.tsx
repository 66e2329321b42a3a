// The editable rows of a network: its ranges (name, first, last) and its routers (address, preference).
import type { RangeRow, RouterRow } from './network-form'

/** One text column of an editable table: the row field it edits and how it is labelled. */
interface Column<T> {
  readonly field: keyof T & string
  readonly header: string
  /** Accessible name of the cell's input, after "<Noun> <n> ". */
  readonly label: string
  readonly size?: number
}

interface EditableRowsProps<T> {
  readonly legend: string
  /** The row noun in labels and buttons: "range" gives "Range 1 name", "Remove range 1", "Add range". */
  readonly noun: string
  readonly columns: readonly Column<T>[]
  readonly rows: T[]
  readonly blank: T
  readonly onChange: (rows: T[]) => void
}

/** A table of rows of text fields, each removable, with a button to add one. */
function EditableRows<T extends Record<string, string>>({ legend, noun, columns, rows, blank, onChange }: EditableRowsProps<T>) {
  const set = (i: number, change: Partial<T>): void => onChange(rows.map((r, j) => (j === i ? { ...r, ...change } : r)))
  const Noun = noun.charAt(0).toUpperCase() + noun.slice(1)
  return (
    <fieldset>
      <legend>{legend}</legend>
      <table className="rows">
        <thead>
          <tr>
            {columns.map((c) => (
              <th key={c.field}>{c.header}</th>
            ))}
            <th>
              <span className="sr-only">Remove</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r, i) => (
            <tr key={i}>
              {columns.map((c) => (
                <td key={c.field}>
                  <input
                    aria-label={`${Noun} ${i + 1} ${c.label}`}
                    value={r[c.field]}
                    onChange={(e) => set(i, { [c.field]: e.target.value } as Partial<T>)}
                    {...(c.size !== undefined ? { size: c.size } : {})}
                  />
                </td>
              ))}
              <td>
                <button type="button" aria-label={`Remove ${noun} ${i + 1}`} onClick={() => onChange(rows.filter((_, j) => j !== i))}>
                  ×
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <button type="button" onClick={() => onChange([...rows, { ...blank }])}>
        Add {noun}
      </button>
    </fieldset>
  )
}

const RANGE_COLUMNS: readonly Column<RangeRow & Record<string, string>>[] = [
  { field: 'name', header: 'Name', label: 'name', size: 8 },
  { field: 'first', header: 'First address', label: 'first address' },
  { field: 'last', header: 'Last address', label: 'last address' }
]

const ROUTER_COLUMNS: readonly Column<RouterRow & Record<string, string>>[] = [
  { field: 'address', header: 'Address', label: 'address' },
  { field: 'pref', header: 'Preference', label: 'preference', size: 6 }
]

export function RangeRows({ rows, onChange }: { rows: RangeRow[]; onChange: (rows: RangeRow[]) => void }) {
  return <EditableRows legend="Ranges" noun="range" columns={RANGE_COLUMNS} rows={rows} blank={{ name: 'host', first: '', last: '' }} onChange={onChange} />
}

export function RouterRows({ rows, onChange }: { rows: RouterRow[]; onChange: (rows: RouterRow[]) => void }) {
  return <EditableRows legend="Routers" noun="router" columns={ROUTER_COLUMNS} rows={rows} blank={{ address: '', pref: '10' }} onChange={onChange} />
}
