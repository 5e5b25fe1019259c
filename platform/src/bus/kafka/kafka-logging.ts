import { logLevel, type logCreator } from 'kafkajs';
import type { Logger } from 'pino';

/**
 * kafkajs reports states it recovers from by itself at ERROR: a rebalance,
 * a coordinator still loading after a broker start, a refused connection
 * while a broker is down, a topic that already exists. Those go to `warn`,
 * so that `error` keeps meaning something (tulios/kafkajs#493, #1527).
 */
const TRANSIENT = [
  /rebalanc/i,
  /coordinator is (loading|not available)/i,
  /not aware of this member/i,
  /not the leader|leader not available|not.?coordinator/i,
  /connection (error|timeout|closed)|ECONNREFUSED|ECONNRESET|closed connection/i,
  /topic creation errors|already exists/i,
  /restarting the consumer/i,
  /crash: /i,
];

/** The kafkajs level that lets through what `logger` would print. */
export function kafkaLogLevel(logger: Logger): logLevel {
  switch (logger.level) {
    case 'trace':
    case 'debug':
      return logLevel.DEBUG;
    case 'info':
      return logLevel.INFO;
    case 'warn':
      return logLevel.WARN;
    case 'silent':
      return logLevel.NOTHING;
    default:
      return logLevel.ERROR;
  }
}

/** kafkajs' log lines into pino, under `kafkajs` with the client's namespace. */
export function pinoLogCreator(logger: Logger): logCreator {
  const kafkaLogger = logger.child({ component: 'kafkajs' });
  return () =>
    ({ namespace, level, log }) => {
      const { message, timestamp: _timestamp, ...fields } = log;
      const context = { namespace, ...fields };
      if (level === logLevel.ERROR) {
        const text = `${message} ${typeof fields.error === 'string' ? fields.error : ''}`;
        if (TRANSIENT.some((re) => re.test(text))) kafkaLogger.warn(context, message);
        else kafkaLogger.error(context, message);
      } else if (level === logLevel.WARN) kafkaLogger.warn(context, message);
      else if (level === logLevel.INFO) kafkaLogger.info(context, message);
      else kafkaLogger.debug(context, message);
    };
}
