import { CreateTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { HISTORY_KEYS } from '../../lambdas/aws/boot/history';
import { RUN_KEYS } from '../../lambdas/aws/boot/runs';

/** Creates an on-demand table with the boot history's keys, as the pipeline stack defines it. */
export async function createBootHistoryTable(dynamodb: DynamoDBClient, tableName: string): Promise<void> {
  await dynamodb.send(
    new CreateTableCommand({
      TableName: tableName,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [
        { AttributeName: HISTORY_KEYS.partition, AttributeType: 'S' },
        { AttributeName: HISTORY_KEYS.sort, AttributeType: 'S' },
      ],
      KeySchema: [
        { AttributeName: HISTORY_KEYS.partition, KeyType: 'HASH' },
        { AttributeName: HISTORY_KEYS.sort, KeyType: 'RANGE' },
      ],
    }),
  );
}

/** Creates an on-demand table with the boot run table's keys, as the boot test workflow defines it. */
export async function createBootRunTable(dynamodb: DynamoDBClient, tableName: string): Promise<void> {
  await dynamodb.send(
    new CreateTableCommand({
      TableName: tableName,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [
        { AttributeName: RUN_KEYS.partition, AttributeType: 'S' },
        { AttributeName: RUN_KEYS.sort, AttributeType: 'S' },
      ],
      KeySchema: [
        { AttributeName: RUN_KEYS.partition, KeyType: 'HASH' },
        { AttributeName: RUN_KEYS.sort, KeyType: 'RANGE' },
      ],
    }),
  );
}
