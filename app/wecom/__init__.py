"""WeCom (企业微信): the wechatpy adapter, the encrypted callback, directory sync and the local simulator."""
