// `npm start`: compiles only when a source is newer than the build, so a restart starts at once.
// Plain JavaScript on purpose: it runs before there is a build.
'use strict';
const { spawnSync } = require('node:child_process');
const { existsSync, readdirSync, statSync } = require('node:fs');
const { join, resolve } = require('node:path');

const root = resolve(__dirname, '..');
const built = join(root, 'dist/src/cli.js');

/** The newest modification time of the sources tsc compiles and of what configures it. */
function newestSource() {
  let newest = 0;
  const visit = (path) => {
    const s = statSync(path);
    if (s.isDirectory()) for (const name of readdirSync(path)) visit(join(path, name));
    else if (/\.(ts|json)$/.test(path)) newest = Math.max(newest, s.mtimeMs);
  };
  for (const dir of ['src', 'connectors', 'scripts', 'test']) if (existsSync(join(root, dir))) visit(join(root, dir));
  for (const file of ['tsconfig.json', 'package.json', 'package-lock.json']) if (existsSync(join(root, file))) visit(join(root, file));
  return newest;
}

if (!existsSync(built) || statSync(built).mtimeMs < newestSource()) {
  process.stderr.write('quell: sources changed since the last build: compiling (npm run build)\n');
  const r = spawnSync('npm', ['run', 'build', '--silent'], { cwd: root, stdio: 'inherit' });
  process.exit(r.status ?? 1);
}
