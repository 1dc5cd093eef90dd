"""The only code that touches boto3's DynamoDB API. Conditional failures become domain errors here."""
