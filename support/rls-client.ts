import { credentials, loadPackageDefinition } from '@grpc/grpc-js';
import type {
  Client,
  ClientReadableStream,
  GrpcObject,
  Metadata,
  ServiceClientConstructor,
  ServiceError,
} from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { fileURLToPath } from 'node:url';

/*
 * A gRPC client built from the repo's `.proto` files with proto-loader's default options (proto
 * field names and plain numbers stay as protobuf.js gives them), as any Envoy-compatible client
 * would build its own: it shares no code with the server.
 */
const PROTO_DIR = fileURLToPath(new URL('../proto', import.meta.url));

const definition = loadPackageDefinition(
  loadSync(['envoy/service/ratelimit/v3/rls.proto', 'grpc/health/v1/health.proto'], {
    includeDirs: [PROTO_DIR],
    keepCase: true,
    enums: String,
    longs: Number,
    defaults: true,
  }),
);

function service(name: string): ServiceClientConstructor {
  let node: unknown = definition;
  for (const part of name.split('.')) node = (node as GrpcObject)[part];
  return node as ServiceClientConstructor;
}

export interface WireEntry {
  key: string;
  value: string;
}

export interface WireDescriptor {
  entries: WireEntry[];
  limit?: { requests_per_unit: number; unit: string };
  hits_addend?: { value: number };
}

export interface RlsRequest {
  domain: string;
  descriptors: WireDescriptor[];
  hits_addend?: number;
}

export interface RlsStatus {
  code: string;
  current_limit: { name: string; requests_per_unit: number; unit: string } | null;
  limit_remaining: number;
  duration_until_reset: { seconds: number; nanos: number } | null;
}

export interface RlsResponse {
  overall_code: string;
  statuses: RlsStatus[];
  response_headers_to_add: { key: string; value: string }[];
}

type Unary<Request, Response> = (
  request: Request,
  callback: (error: ServiceError | null, response?: Response) => void,
) => void;

export class RlsClient {
  private readonly rls: Client & { ShouldRateLimit: Unary<RlsRequest, RlsResponse> };
  private readonly health: Client & {
    Check: Unary<{ service: string }, { status: string }>;
    Watch: (request: { service: string }) => ClientReadableStream<{ status: string }>;
  };

  constructor(address: string) {
    const RateLimitService = service('envoy.service.ratelimit.v3.RateLimitService');
    const Health = service('grpc.health.v1.Health');
    this.rls = new RateLimitService(address, credentials.createInsecure()) as unknown as RlsClient['rls'];
    this.health = new Health(address, credentials.createInsecure()) as unknown as RlsClient['health'];
  }

  shouldRateLimit(request: RlsRequest): Promise<RlsResponse> {
    return new Promise((resolve, reject) => {
      this.rls.ShouldRateLimit(request, (error, response) => {
        if (error) reject(error);
        else if (response) resolve(response);
        else reject(new Error('no response'));
      });
    });
  }

  /** The call's status code and details when it fails (undefined when it succeeds). */
  async failure(
    request: RlsRequest,
  ): Promise<{ code: number; details: string; metadata: Metadata } | undefined> {
    try {
      await this.shouldRateLimit(request);
      return undefined;
    } catch (error) {
      const { code, details, metadata } = error as ServiceError;
      return { code, details, metadata };
    }
  }

  healthCheck(serviceName = ''): Promise<string> {
    return new Promise((resolve, reject) => {
      this.health.Check({ service: serviceName }, (error, response) => {
        if (error) reject(error);
        else resolve(response?.status ?? 'UNKNOWN');
      });
    });
  }

  /** grpc.health.v1.Health/Watch: every status the stream sends, until it ends. */
  watchHealth(serviceName = ''): { statuses: string[]; ended: Promise<void>; cancel(): void } {
    const stream = this.health.Watch({ service: serviceName });
    const statuses: string[] = [];
    stream.on('data', (message: { status: string }) => statuses.push(message.status));
    const ended = new Promise<void>((resolve) => {
      stream.on('end', resolve);
      stream.on('error', () => {
        resolve();
      });
    });
    return {
      statuses,
      ended,
      cancel: () => {
        stream.cancel();
      },
    };
  }

  close(): void {
    this.rls.close();
    this.health.close();
  }
}
