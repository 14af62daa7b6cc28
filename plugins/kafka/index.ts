import type { ProtocolHandlerFactory } from '../../src/api/index.js';
import { KafkaProtocolHandler } from './kafka-protocol-handler.js';

const createKafkaProtocolHandler: ProtocolHandlerFactory = () => new KafkaProtocolHandler();
export default createKafkaProtocolHandler;
