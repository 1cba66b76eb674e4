/**
 * Blob store on S3 or any S3-compatible server. The hash is only known once the bytes have
 * streamed past, so an upload goes to PREFIX/tmp/<uuid> (multipart for large objects) and is
 * then copied server-side to PREFIX/objects/ab/<sha256>.
 */
import { createHash, randomUUID } from 'node:crypto';
import { PassThrough, Readable } from 'node:stream';
import {
  S3Client,
  HeadObjectCommand,
  GetObjectCommand,
  CopyObjectCommand,
  DeleteObjectCommand,
  HeadBucketCommand,
  ListObjectsV2Command,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { ArtifactsUri } from '../config.js';
import { notFound, unavailable } from '../core/errors.js';
import { checkSha256, toAsyncIterable, verifying, type BlobInfo, type BlobSource, type BlobStore } from './blobs.js';

type S3Uri = Extract<ArtifactsUri, { kind: 's3' }>;

function clientFor(uri: S3Uri): S3Client {
  return new S3Client({ region: uri.region, endpoint: uri.endpoint, forcePathStyle: uri.forcePathStyle, credentials: uri.credentials });
}

export async function openS3BlobStore(uri: S3Uri): Promise<BlobStore> {
  const client = clientFor(uri);
  const key = (...parts: string[]) => [uri.prefix, ...parts].filter(Boolean).join('/');
  const objectKey = (sha256: string) => key('objects', checkSha256(sha256).slice(0, 2), sha256);
  const isMissing = (err: unknown) => {
    const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
    return e.name === 'NotFound' || e.name === 'NoSuchKey' || e.$metadata?.httpStatusCode === 404;
  };

  const store: BlobStore = {
    kind: 's3',

    async put(source: BlobSource): Promise<BlobInfo> {
      const tmpKey = key('tmp', randomUUID());
      const hash = createHash('sha256');
      let size = 0;
      const body = new PassThrough({ highWaterMark: 1 << 20 });
      const upload = new Upload({
        client,
        params: { Bucket: uri.bucket, Key: tmpKey, Body: body },
        partSize: 8 * 1024 * 1024,
        queueSize: 4,
      });
      const uploaded = upload.done();
      try {
        for await (const chunk of toAsyncIterable(source)) {
          hash.update(chunk);
          size += chunk.byteLength;
          if (!body.write(chunk)) await new Promise((resolve) => body.once('drain', resolve));
        }
        body.end();
        await uploaded;
      } catch (err) {
        body.destroy();
        await upload.abort().catch(() => undefined);
        await uploaded.catch(() => undefined);
        throw err;
      }
      const sha256 = hash.digest('hex');
      if (!(await store.stat(sha256))) {
        await client.send(
          new CopyObjectCommand({ Bucket: uri.bucket, Key: objectKey(sha256), CopySource: `${uri.bucket}/${encodeURI(tmpKey)}` }),
        );
      }
      await client.send(new DeleteObjectCommand({ Bucket: uri.bucket, Key: tmpKey }));
      return { sha256, size };
    },

    async get(sha256: string, options?: { verify?: boolean }): Promise<Readable> {
      try {
        const res = await client.send(new GetObjectCommand({ Bucket: uri.bucket, Key: objectKey(sha256) }));
        return options?.verify === false ? (res.Body as Readable) : (res.Body as Readable).pipe(verifying(sha256));
      } catch (err) {
        if (isMissing(err)) throw notFound(`blob ${sha256} does not exist`);
        throw err;
      }
    },

    async stat(sha256: string): Promise<BlobInfo | null> {
      try {
        const res = await client.send(new HeadObjectCommand({ Bucket: uri.bucket, Key: objectKey(sha256) }));
        return { sha256, size: res.ContentLength ?? 0 };
      } catch (err) {
        if (isMissing(err)) return null;
        throw err;
      }
    },

    async delete(sha256: string): Promise<void> {
      await client.send(new DeleteObjectCommand({ Bucket: uri.bucket, Key: objectKey(sha256) }));
    },

    async *list(): AsyncIterable<string> {
      let token: string | undefined;
      do {
        const page = await client.send(new ListObjectsV2Command({ Bucket: uri.bucket, Prefix: `${key('objects')}/`, ContinuationToken: token }));
        for (const o of page.Contents ?? []) {
          const name = o.Key?.slice(o.Key.lastIndexOf('/') + 1) ?? '';
          if (/^[0-9a-f]{64}$/.test(name)) yield name;
        }
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
    },

    async quarantine(sha256: string): Promise<void> {
      await client.send(new CopyObjectCommand({ Bucket: uri.bucket, Key: key('quarantine', sha256), CopySource: `${uri.bucket}/${encodeURI(objectKey(sha256))}` }));
      await client.send(new DeleteObjectCommand({ Bucket: uri.bucket, Key: objectKey(sha256) }));
    },

    async ping(): Promise<void> {
      try {
        await client.send(new HeadBucketCommand({ Bucket: uri.bucket }));
      } catch (err) {
        throw unavailable(`--artifacts: bucket ${uri.bucket} is not reachable: ${(err as Error).name ?? (err as Error).message}`);
      }
    },

    async close(): Promise<void> {
      client.destroy();
    },
  };
  return store;
}

/** Files under `s3://BUCKET/PREFIX` URIs, read with the configured S3 store's endpoint and credentials. */
export interface S3ObjectReader {
  /** The objects under the URI's prefix (paths relative to it), or undefined for another scheme. */
  list(uri: string): Promise<{ path: string }[] | undefined>;
  open(uri: string, path: string): Promise<Readable>;
  close(): Promise<void>;
}

/**
 * Reads model sources that live on S3 (MLflow registers `s3://` sources as they are) through the
 * store's own client, so a bucket the store can read is copied in instead of staying pending.
 * Any S3 refusal (no such bucket, access denied) is a not-found: the version waits, saying why.
 */
export function openS3ObjectReader(uri: S3Uri): S3ObjectReader {
  let client: S3Client | undefined;
  const s3 = () => (client ??= clientFor(uri));
  const parse = (source: string) => {
    const m = /^s3:\/\/([^/]+)\/?(.*)$/.exec(source);
    return m ? { bucket: m[1], prefix: m[2].replace(/\/+$/, '') } : undefined;
  };
  const unreadable = (source: string, err: unknown) => {
    const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
    if (e.$metadata?.httpStatusCode === undefined && !e.name?.startsWith('NoSuch')) return err;
    return notFound(`the configured S3 store cannot read ${source}: ${e.name ?? e.$metadata?.httpStatusCode}`);
  };
  return {
    async list(source: string) {
      const at = parse(source);
      if (!at) return undefined;
      const base = at.prefix ? `${at.prefix}/` : '';
      const out: { path: string }[] = [];
      let token: string | undefined;
      try {
        do {
          const page = await s3().send(new ListObjectsV2Command({ Bucket: at.bucket, Prefix: base, ContinuationToken: token }));
          for (const o of page.Contents ?? []) {
            // Folder markers (keys ending in /) hold no file.
            if (o.Key && !o.Key.endsWith('/')) out.push({ path: o.Key.slice(base.length) });
          }
          token = page.IsTruncated ? page.NextContinuationToken : undefined;
        } while (token);
      } catch (err) {
        throw unreadable(source, err);
      }
      return out;
    },
    async open(source: string, path: string): Promise<Readable> {
      const at = parse(source);
      if (!at) throw notFound(`${source} is not an s3:// URI`);
      try {
        const res = await s3().send(new GetObjectCommand({ Bucket: at.bucket, Key: at.prefix ? `${at.prefix}/${path}` : path }));
        return res.Body as Readable;
      } catch (err) {
        throw unreadable(`${source}/${path}`, err);
      }
    },
    async close() {
      client?.destroy();
    },
  };
}
