// Process entry of the `crowbar` command (built to out/main/cli.js; tests run it from source).
import { main } from './cli'

const code = await main(process.argv.slice(2))
if (code >= 0) process.exit(code)
