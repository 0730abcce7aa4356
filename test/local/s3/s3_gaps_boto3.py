"""S3 gap checks through boto3 against the local stack (endpoint and keys from the environment).
Prints one JSON object: check name -> result, for the vitest file that spawns it to assert on."""
import io
import json
import sys

import boto3
from botocore.exceptions import ClientError

bucket = sys.argv[1]
s3 = boto3.client("s3")
results = {}


def code(call):
    try:
        call()
    except ClientError as error:
        return [error.response["Error"]["Code"], error.response["ResponseMetadata"]["HTTPStatusCode"]]
    return None


# Streams: boto3's defaults for file objects (upload_fileobj, put_object with a stream).
data = bytes(range(256)) * 4000
s3.upload_fileobj(io.BytesIO(data), bucket, "py/stream one.bin")
s3.put_object(Bucket=bucket, Key="py/stream+two.bin", Body=io.BytesIO(data))
results["stream_intact"] = [
    s3.get_object(Bucket=bucket, Key="py/stream one.bin")["Body"].read() == data,
    s3.get_object(Bucket=bucket, Key="py/stream+two.bin")["Body"].read() == data,
]

# Conditional writes and reads.
first = s3.put_object(Bucket=bucket, Key="py/cond.txt", Body=b"one", IfNoneMatch="*")
results["put_if_none_match_again"] = code(lambda: s3.put_object(Bucket=bucket, Key="py/cond.txt", Body=b"two", IfNoneMatch="*"))
results["put_if_match_wrong"] = code(lambda: s3.put_object(Bucket=bucket, Key="py/cond.txt", Body=b"two", IfMatch='"nope"'))
s3.put_object(Bucket=bucket, Key="py/cond.txt", Body=b"three", IfMatch=first["ETag"])
results["get_if_match_wrong"] = code(lambda: s3.get_object(Bucket=bucket, Key="py/cond.txt", IfMatch='"nope"'))
current = s3.head_object(Bucket=bucket, Key="py/cond.txt")["ETag"]
results["get_if_none_match_same"] = code(lambda: s3.get_object(Bucket=bucket, Key="py/cond.txt", IfNoneMatch=current))
results["cond_body"] = s3.get_object(Bucket=bucket, Key="py/cond.txt")["Body"].read().decode()

# Copies with copy-source conditions.
results["copy_if_match_wrong"] = code(lambda: s3.copy_object(Bucket=bucket, Key="py/copy.txt", CopySource={"Bucket": bucket, "Key": "py/cond.txt"}, CopySourceIfMatch='"nope"'))
copied = s3.copy_object(Bucket=bucket, Key="py/copy dest+x.txt", CopySource={"Bucket": bucket, "Key": "py/cond.txt"}, CopySourceIfMatch=current)
results["copy_etag"] = copied["CopyObjectResult"]["ETag"] == current

# UploadPartCopy with ranges.
source = b"s" * (5 * 1024 * 1024) + b"tail-of-source"
s3.put_object(Bucket=bucket, Key="py/mp source.bin", Body=source)
upload = s3.create_multipart_upload(Bucket=bucket, Key="py/mp target.bin")
p1 = s3.upload_part_copy(Bucket=bucket, Key="py/mp target.bin", UploadId=upload["UploadId"], PartNumber=1, CopySource={"Bucket": bucket, "Key": "py/mp source.bin"}, CopySourceRange="bytes=0-5242879")
p2 = s3.upload_part_copy(Bucket=bucket, Key="py/mp target.bin", UploadId=upload["UploadId"], PartNumber=2, CopySource={"Bucket": bucket, "Key": "py/mp source.bin"}, CopySourceRange="bytes=5242880-%d" % (len(source) - 1))
s3.complete_multipart_upload(Bucket=bucket, Key="py/mp target.bin", UploadId=upload["UploadId"], MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": p1["CopyPartResult"]["ETag"]}, {"PartNumber": 2, "ETag": p2["CopyPartResult"]["ETag"]}]})
results["upload_part_copy_intact"] = s3.get_object(Bucket=bucket, Key="py/mp target.bin")["Body"].read() == source

# Tagging.
s3.put_object(Bucket=bucket, Key="py/tagged.txt", Body=b"t", Tagging="a=1&b=two words")
tags_initial = s3.get_object_tagging(Bucket=bucket, Key="py/tagged.txt")["TagSet"]
s3.put_object_tagging(Bucket=bucket, Key="py/tagged.txt", Tagging={"TagSet": [{"Key": "c", "Value": "3"}]})
tags_put = s3.get_object_tagging(Bucket=bucket, Key="py/tagged.txt")["TagSet"]
s3.delete_object_tagging(Bucket=bucket, Key="py/tagged.txt")
tags_deleted = s3.get_object_tagging(Bucket=bucket, Key="py/tagged.txt")["TagSet"]
results["tags"] = [tags_initial, tags_put, tags_deleted]

# Listing (boto3 asks for encoding-type=url and decodes), and DeleteObjects.
keys = ["py/list/a b.txt", "py/list/c+d.txt", "py/list/ü.txt", "py/list/sub/e.txt"]
for key in keys:
    s3.put_object(Bucket=bucket, Key=key, Body=b"x")
pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix="py/list/", Delimiter="/", PaginationConfig={"PageSize": 2})
listed, prefixes = [], []
for page in pages:
    listed += [item["Key"] for item in page.get("Contents", [])]
    prefixes += [item["Prefix"] for item in page.get("CommonPrefixes", [])]
results["listed"] = [listed, prefixes]
deleted = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": key} for key in keys]})
results["deleted"] = sorted(item["Key"] for item in deleted["Deleted"])
results["after_delete"] = s3.list_objects_v2(Bucket=bucket, Prefix="py/list/")["KeyCount"]

print(json.dumps(results))
