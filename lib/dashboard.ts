import { Duration, Tags } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { BOOT_METRIC_NAMESPACE } from '../lambdas/core/boot/result';
import type { PipelineConfig } from '../lambdas/core/config';

export interface DashboardProps {
  readonly config: PipelineConfig;
  /** The workflows whose executions are graphed, by the name shown on the dashboard. */
  readonly workflows: Readonly<Record<string, sfn.StateMachine>>;
}

/** Boot metrics are weekly, so a day is the finest period worth drawing and twelve weeks the default view. */
const BOOT_PERIOD = Duration.days(1);
const WIDTH = 12;
const HEIGHT = 6;

/** The dimension schema of the boot test's embedded-metric records (`emitBootMetrics` in lambdas/aws/boot/history.ts). */
const BOOT_SCHEMA = `{${BOOT_METRIC_NAMESPACE},InstanceType,Series}`;

/** A SEARCH over the boot metrics: one line per series and instance type, new ones appearing without a deploy. */
export function bootSearch(metricName: string, statistic: string, term = ''): string {
  const extra = term ? ` ${term}` : '';
  return `SEARCH('${BOOT_SCHEMA} MetricName="${metricName}"${extra}', '${statistic}', ${BOOT_PERIOD.toSeconds()})`;
}

/**
 * The pipeline at a glance: boot times per series and instance type (one graph per architecture), boot failures,
 * the phases of a boot over all series, and the succeeded, failed and timed-out executions of each workflow.
 */
export class Dashboard extends Construct {
  readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: DashboardProps) {
    super(scope, id);
    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      start: '-P12W',
      periodOverride: cloudwatch.PeriodOverride.INHERIT,
    });
    // The stack tags every resource as managed; the dashboard resource takes no Tags in the CloudFormation schema
    // cfn-lint checks against, and nothing selects dashboards by that tag.
    Tags.of(this.dashboard).remove(props.config.managedTag.key);
    this.dashboard.addWidgets(
      new cloudwatch.TextWidget({
        markdown:
          '## FreeBSD AMI pipeline\nBoot times are medians per build, from the boot test; ' +
          'a line per series and instance type appears as soon as it is first measured.',
        width: 2 * WIDTH,
        height: 2,
      }),
    );
    const bootGraphs = props.config.series.arches.map(
      (arch) =>
        new cloudwatch.GraphWidget({
          title: `Boot time, ${arch} (s)`,
          left: [
            new cloudwatch.MathExpression({
              // The architecture is a word of the series key (`15.0-CURRENT/arm64/base/zfs`), so it selects them.
              expression: bootSearch('BootSeconds', 'Average', arch),
              usingMetrics: {},
              label: '',
              period: BOOT_PERIOD,
            }),
          ],
          leftYAxis: { min: 0, label: 'seconds', showUnits: false },
          legendPosition: cloudwatch.LegendPosition.RIGHT,
          width: WIDTH,
          height: HEIGHT,
        }),
    );
    const failures = new cloudwatch.GraphWidget({
      title: 'Failed boots (count per series and instance type)',
      left: [
        new cloudwatch.MathExpression({
          expression: bootSearch('BootFailed', 'Sum'),
          usingMetrics: {},
          label: '',
          period: BOOT_PERIOD,
        }),
      ],
      leftYAxis: { min: 0, showUnits: false },
      width: WIDTH,
      height: HEIGHT,
    });
    const phase = (metricName: string, label: string) =>
      new cloudwatch.Metric({
        namespace: BOOT_METRIC_NAMESPACE,
        metricName,
        statistic: 'Average',
        period: BOOT_PERIOD,
        label,
      });
    const phases = new cloudwatch.GraphWidget({
      title: 'Phases of a boot, all series (s)',
      stacked: true,
      left: [
        phase('RunInstancesSeconds', 'RunInstances call'),
        phase('PendingToRunningSeconds', 'pending to running'),
        phase('RunningToPortClosedSeconds', 'running to port 22 closed'),
        phase('PortClosedToOpenSeconds', 'port 22 closed to open'),
      ],
      leftYAxis: { min: 0, showUnits: false },
      width: WIDTH,
      height: HEIGHT,
    });
    const executions = Object.entries(props.workflows).map(([name, machine]) => {
      const count = { period: BOOT_PERIOD, statistic: 'Sum' };
      return new cloudwatch.GraphWidget({
        title: `${name} executions`,
        left: [
          machine.metricSucceeded({ ...count, label: 'succeeded', color: cloudwatch.Color.GREEN }),
          machine.metricFailed({ ...count, label: 'failed', color: cloudwatch.Color.RED }),
          machine.metricTimedOut({ ...count, label: 'timed out', color: cloudwatch.Color.ORANGE }),
          machine.metricAborted({ ...count, label: 'aborted', color: cloudwatch.Color.GREY }),
        ],
        leftYAxis: { min: 0, showUnits: false },
        width: WIDTH / 2,
        height: HEIGHT,
      });
    });
    this.dashboard.addWidgets(...bootGraphs, failures, phases);
    this.dashboard.addWidgets(...executions);
  }
}
