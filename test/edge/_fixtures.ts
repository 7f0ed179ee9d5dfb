/** Shared inputs of the edge tests. Exports only. */

/** The example policy of docs/edge.md: two shared signals, a secret one, a label-only flag. */
export const POLICY_YAML = `# plant A's data policy
version: 1
machineIds:
  keyFile: pseudonym.key
maxClassification: confidential
minBatchSize: 64
signals:
  air_temperature:
    classification: internal
    share: true
    unit: K
    range: { lo: 295, hi: 305 }
    outOfRange: clamp
  torque:
    classification: confidential
    share: true
    unit: Nm
    range:
      lo: 3
      hi: 77
    outOfRange: reject
  operator_badge:
    classification: secret
    share: false
    description: the operator's badge number
  machine_failure:
    classification: internal
    share: false
label:
  signal: machine_failure
  classes:
    - { raw: 1, name: failure }
    - { raw: 0, name: ok }
`;
