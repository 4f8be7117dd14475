// After tsc: copy the protobufjs-generated JavaScript into dist/ (tsc does not copy .js sources),
// and make the CLI entry point executable (tsc does not set file modes).
import { chmodSync, cpSync, mkdirSync } from 'node:fs'
mkdirSync('dist/protocol/generated', { recursive: true })
cpSync('src/protocol/generated/tunnel.js', 'dist/protocol/generated/tunnel.js')
chmodSync('dist/cli/main.js', 0o755)
