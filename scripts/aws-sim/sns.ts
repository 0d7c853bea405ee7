import type {
  CreateTopicInput,
  CreateTopicResponse,
  PublishInput,
  PublishResponse,
  SubscribeInput,
  SubscribeResponse,
} from '@aws-sdk/client-sns';
import { fault } from './errors';
import { type OperationHandler, operationMethod, type RegionState, type World } from './world';

/** A message as SNS accepted it. */
export interface PublishedMessage {
  readonly region: string;
  readonly topicArn: string;
  readonly messageId: string;
  readonly subject?: string;
  readonly message: string;
  readonly messageStructure?: string;
  readonly at: number;
}

interface Topic {
  readonly arn: string;
  readonly name: string;
  readonly subscriptions: { readonly arn: string; readonly protocol: string; readonly endpoint: string }[];
}

// "Subject must be ASCII text that begins with a letter, number, or punctuation mark; must not include line breaks or
// control characters; and must be less than 100 characters long" (Publish docs).
const SUBJECT = /^[A-Za-z0-9!-/:-@[-`{-~][\x20-\x7e]{0,98}$/;
// "The maximum message size is 262,144 bytes (256 KiB)" (Publish docs), message attributes included.
const MAX_MESSAGE_BYTES = 262_144;

/** SNS topics, subscriptions and the messages published to them, with Publish's validation. */
export class SnsService {
  private readonly topics = new Map<string, Topic>();
  readonly messages: PublishedMessage[] = [];

  constructor(private readonly world: World) {}

  handler(operation: string): OperationHandler | undefined {
    return operationMethod(this, operation);
  }

  CreateTopic(region: RegionState, input: CreateTopicInput): CreateTopicResponse {
    const name = input.Name ?? '';
    if (!/^[A-Za-z0-9_-]{1,256}(\.fifo)?$/.test(name)) fault('InvalidParameter', 'Invalid parameter: Topic Name');
    const arn = `arn:aws:sns:${region.name}:${this.world.accountId}:${name}`;
    if (!this.topics.has(arn)) this.topics.set(arn, { arn, name, subscriptions: [] });
    return { TopicArn: arn };
  }

  Subscribe(_region: RegionState, input: SubscribeInput): SubscribeResponse {
    const topic = this.requireTopic(input.TopicArn);
    const arn = `${topic.arn}:${this.world.random(`subscription:${topic.arn}:${topic.subscriptions.length}`).uuid()}`;
    topic.subscriptions.push({ arn, protocol: input.Protocol ?? '', endpoint: input.Endpoint ?? '' });
    // E-mail endpoints must confirm first; the ARN is only returned when asked for.
    const pending = input.Protocol === 'email' || input.Protocol === 'email-json';
    return { SubscriptionArn: pending && !input.ReturnSubscriptionArn ? 'pending confirmation' : arn };
  }

  private requireTopic(arn: string | undefined): Topic {
    const topic = arn ? this.topics.get(arn) : undefined;
    if (!topic) fault('NotFound', 'Topic does not exist', 404);
    return topic;
  }

  Publish(region: RegionState, input: PublishInput): PublishResponse {
    const topic = this.requireTopic(input.TopicArn ?? input.TargetArn);
    const message = input.Message ?? '';
    if (message.length === 0) fault('InvalidParameter', 'Invalid parameter: Empty message');
    if (input.Subject !== undefined && !SUBJECT.test(input.Subject))
      fault('InvalidParameter', 'Invalid parameter: Subject');
    const attributeBytes = Object.entries(input.MessageAttributes ?? {}).reduce(
      (sum, [key, value]) =>
        sum + Buffer.byteLength(key) + Buffer.byteLength(value.StringValue ?? '') + (value.BinaryValue?.length ?? 0),
      0,
    );
    if (Buffer.byteLength(message, 'utf8') + attributeBytes > MAX_MESSAGE_BYTES)
      fault('InvalidParameter', 'Invalid parameter: Message too long');
    if (input.MessageStructure === 'json') {
      let parsed: unknown;
      try {
        parsed = JSON.parse(message);
      } catch {
        fault('InvalidParameter', 'Invalid parameter: Message Structure - JSON message body failed to parse');
      }
      if (!parsed || typeof parsed !== 'object' || typeof (parsed as Record<string, unknown>).default !== 'string')
        fault('InvalidParameter', 'Invalid parameter: Message Structure - No default entry in JSON message body');
    }
    const messageId = this.world.random(`message:${this.messages.length}`).uuid();
    this.messages.push({
      region: region.name,
      topicArn: topic.arn,
      messageId,
      subject: input.Subject,
      message,
      messageStructure: input.MessageStructure,
      at: this.world.now(),
    });
    return { MessageId: messageId };
  }
}
