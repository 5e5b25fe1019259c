// HTTP kit, auth, config and DI. See docs/http-and-auth.md.
export {
  createHttpApp,
  type HttpAppOptions,
  type HttpMount,
} from './http/http-app';
export {
  defineRoute,
  type HandlerContext,
  type HandlerResult,
  type HttpMethod,
  type RequestSchemas,
  type ResponseSchemas,
  type Route,
  type RouteDefinition,
} from './http/routes';
export {
  PROBLEM_CONTENT_TYPE,
  problemFromError,
  problemHandler,
  problemResponse,
  problemSchema,
  problemType,
  sendResponse,
  type HttpResponse,
  type ProblemDetails,
} from './http/problem';
export { formatPath, integerParameter, nulCharacterPaths, validateRequest, type FieldError, type RequestPart } from './http/validation';
export { DEFAULT_BODY_LIMIT, JSON_MEDIA_TYPES, jsonBody, parseSafeJson } from './http/json-body';
export { requestContext, type RequestContext } from './http/request-context';
export { openApiDocument, type OpenApiDocument, type OpenApiInfo } from './http/openapi';
export { databaseReadiness, healthRouter, runReadinessChecks, type CheckResult, type ReadinessCheck } from './http/health';
export { startHttpServer, type RunningHttpServer } from './http/http-server';
export { Lifecycle, createShutdown } from './http/lifecycle';
export {
  IDEMPOTENCY_KEY_HEADER,
  IDEMPOTENT_REPLAYED_HEADER,
  IdempotencyInProgressError,
  IdempotencyKeyReusedError,
  IdempotencyStore,
  parseIdempotencyKey,
  requestHash,
  type IdempotencyOptions,
  type IdempotentRequest,
} from './http/idempotency';
export { idempotencyMigrations } from './http/idempotency-migrations';

export {
  ROLES,
  authSettingsFromConfig,
  authenticateHeader,
  createTokenVerifier,
  requireRoles,
  signToken,
  type AuthSettings,
  type Principal,
  type Role,
  type TokenClaims,
  type TokenVerifier,
} from './auth/jwt';
export { authenticate, authenticateRequest, principalOf, type AuthRequirement } from './auth/authenticate';

export {
  ConfigError,
  DEV_AUTH_JWT_SECRET,
  authConfigShape,
  env,
  isDevMode,
  loadConfig,
  databaseUrl,
  parseDatabaseUrl,
  parseDuration,
  secret,
  serviceConfigShape,
  hostTuningConfigShape,
  type ConfigOf,
  type Env,
  type ServiceConfig,
} from './config/config';

export {
  TOKENS,
  bindFactory,
  bindValue,
  createContainer,
  resolve,
  resolveAll,
  resolveAsync,
  systemClock,
  token,
  type Clock,
  type Token,
  type TokenValue,
} from './di/container';
