// Zip sizes of layer assets, as the CDK uploads them.
import { createWriteStream, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ZipArchive } from 'archiver';
import { listFiles } from './sizes.mjs';

/**
 * Zips entries the way the CDK zips a directory asset before uploading it (cdk-assets'
 * zipDirectory: archiver's zip format with its default compression, every date reset to
 * 1980-01-01, the file mode kept), and returns the zip's size in bytes.
 * @param {{path: string, name: string}[]} entries  host file and its path inside the zip
 */
export async function zipSize(entries) {
  const scratch = mkdtempSync(join(tmpdir(), 'bench-zip-'));
  const zipPath = join(scratch, 'asset.zip');
  try {
    await new Promise((resolve, reject) => {
      const output = createWriteStream(zipPath);
      const archive = new ZipArchive();
      archive.on('warning', reject);
      archive.on('error', reject);
      output.once('close', resolve);
      archive.pipe(output);
      for (const { path, name } of [...entries].sort((a, b) => a.name.localeCompare(b.name))) {
        archive.append(readFileSync(path), { name, date: new Date('1980-01-01T00:00:00.000Z'), mode: statSync(path).mode });
      }
      archive.finalize();
    });
    return statSync(zipPath).size;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** Zip size of a whole directory (its content at the zip's root, as a layer asset). */
export function directoryZipSize(dir) {
  return zipSize(listFiles(dir).map((name) => ({ path: join(dir, name), name })));
}

